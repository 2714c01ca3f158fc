package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import io.troupe.worker.actor.WorkerActor;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The CLI's log lines (logback.xml): a worker's name its rank and host, other lines stay as they were. */
class LogPatternTest {

    @Test
    void aWorkersLineCarriesItsRankAndHost() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        PatternLayoutEncoder encoder = (PatternLayoutEncoder) ((OutputStreamAppender<?>) root.getAppender("STDERR"))
                .getEncoder();
        Logger logger = context.getLogger("io.troupe.worker.actor.WorkerActor");

        LoggingEvent worker = new LoggingEvent("fqcn", logger, Level.WARN, "lost the coordinator", null, null);
        worker.setMDCPropertyMap(Map.of(WorkerActor.LOG_CONTEXT, "rank 1@10.0.0.3"));
        worker.setTimeStamp(0);
        String line = new String(encoder.encode(worker), StandardCharsets.UTF_8);
        assertEquals("WARN  WorkerActor [rank 1@10.0.0.3] - lost the coordinator", line.substring(9).strip());

        LoggingEvent other = new LoggingEvent("fqcn", context.getLogger("io.troupe.coordinator.Coordinator"),
                Level.INFO, "1 of 2 worker(s) ready", null, null);
        other.setMDCPropertyMap(Map.of());
        other.setTimeStamp(0);
        assertEquals("INFO  Coordinator - 1 of 2 worker(s) ready",
                new String(encoder.encode(other), StandardCharsets.UTF_8).substring(9).strip());
    }
}
