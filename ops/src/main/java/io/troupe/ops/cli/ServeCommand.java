package io.troupe.ops.cli;

import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeLimits;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code troupe serve}: an OpenAI-compatible HTTP server over an exported model, with continuous batching. */
@Command(name = "serve", description = {"Serve an exported model over an OpenAI-compatible HTTP API.",
            "POST /v1/completions and /v1/chat/completions (streaming as server-sent events), GET /v1/models, /health and "
                    + "/metrics. Runs until interrupted."}, mixinStandardHelpOptions = true)
final class ServeCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Directory with model.onnx and tokenizer.json.")
    private Path model;

    @Option(names = "--bind", defaultValue = "127.0.0.1:8080", paramLabel = "HOST:PORT",
            description = "Address to listen on (default: ${DEFAULT-VALUE}, this machine only). Another host needs --api-key-file.")
    private String bind;

    @Option(names = "--api-key-file", paramLabel = "FILE",
            description = "File holding the API key clients must send as 'Authorization: Bearer KEY'.")
    private Path apiKeyFile;

    @Option(names = "--max-batch", defaultValue = "8", paramLabel = "N",
            description = "Sequences decoded together in one batched step (default: ${DEFAULT-VALUE}).")
    private int maxBatch;

    @Option(names = "--queue-limit", defaultValue = "64", paramLabel = "N",
            description = "Requests that may wait for a batch slot; beyond them the server answers 429 (default: ${DEFAULT-VALUE}).")
    private int queueLimit;

    @Mixin
    private ThreadsOption threads;

    @Override
    public Integer call() throws Exception {
        if (maxBatch < 1) {
            throw new ParameterException(spec.commandLine(), "--max-batch must be at least 1, got " + maxBatch);
        }
        if (queueLimit < 1) {
            throw new ParameterException(spec.commandLine(), "--queue-limit must be at least 1, got " + queueLimit);
        }
        HostPort address = HostPort.parse(bind, "--bind");
        String apiKey = apiKeyFile == null ? null : readApiKey(apiKeyFile);
        if (apiKey == null && !isLoopback(address.host())) {
            throw UserError.usage("--bind " + address + " is reachable from other machines; give --api-key-file FILE too, "
                    + "or bind 127.0.0.1");
        }
        if (!Files.isDirectory(model)) {
            throw UserError.inputData("--model " + model + " is not a directory; pass the --out directory of a finished "
                    + "'troupe train' or 'troupe export'");
        }
        PrintWriter out = spec.commandLine().getOut();
        OpenAiServer server = OpenAiServer.bind(address.host(), address.port(), ServeLimits.defaults().withQueueLimit(queueLimit),
                apiKey);
        CountDownLatch stop = new CountDownLatch(1);
        try (StopOnSignal signal = StopOnSignal.install(stop::countDown)) {
            try {
                server.load(model, threads.threads(), maxBatch);
            } catch (Exception e) {
                server.close();
                throw e;
            }
            out.println("troupe serve: " + model + " on http://" + address.host() + ":" + server.port()
                    + " (batch " + maxBatch + ", queue " + queueLimit + (apiKey == null ? ", no API key" : ", API key required")
                    + "); Ctrl-C stops");
            out.flush();
            stop.await();
            server.close();
        }
        return TroupeCli.EXIT_OK;
    }

    private static String readApiKey(Path file) {
        String key;
        try {
            key = Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            String why = e instanceof java.nio.file.NoSuchFileException ? "it does not exist"
                    : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : "I/O error";
            throw UserError.inputData("cannot read --api-key-file " + file + " (" + why
                    + "); check the path and its permissions", e);
        }
        if (key.isEmpty() || key.contains("\n")) {
            throw UserError.inputData("--api-key-file " + file + " must hold the key on one non-empty line");
        }
        return key;
    }

    private static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw UserError.usage("--bind has an unknown host '" + host + "'", e);
        }
    }
}
