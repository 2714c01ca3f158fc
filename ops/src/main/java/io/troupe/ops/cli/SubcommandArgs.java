package io.troupe.ops.cli;

/** Command lines of the single-command jars, which run one {@code troupe} subcommand. */
final class SubcommandArgs {
    private SubcommandArgs() {}

    /** {@code troupe SUBCOMMAND args...}'s arguments. */
    static String[] prepend(String subcommand, String[] args) {
        String[] all = new String[args.length + 1];
        all[0] = subcommand;
        System.arraycopy(args, 0, all, 1, args.length);
        return all;
    }
}
