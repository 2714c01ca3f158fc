package io.troupe.ops.cli;

/** A HOST:PORT command-line value. */
record HostPort(String host, int port) {

    /** Parses "HOST:PORT"; {@code option} names the flag in the error. */
    static HostPort parse(String text, String option) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw UserError.usage(option + " takes HOST:PORT (for example 127.0.0.1:2552), got '" + text + "'");
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw UserError.usage(option + " has a port that is not a number: '" + text + "'");
        }
        if (port < 0 || port > 65535) {
            throw UserError.usage(option + " has a port out of range [0, 65535]: " + port);
        }
        return new HostPort(text.substring(0, colon), port);
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
