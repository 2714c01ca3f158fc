package io.troupe.ops.explain;

import java.util.Locale;

/**
 * A self-contained HTML page (no scripts, no external files) showing an explanation: each token
 * on a background whose colour says the sign (red raises the score, blue lowers it) and whose
 * strength says the size of its attribution relative to the largest; the value on hover.
 */
public final class ExplanationHtml {
    private ExplanationHtml() {
    }

    /** The page for {@code e}. */
    public static String render(Explanation e) {
        double max = 0;
        for (double a : e.attributions()) {
            max = Math.max(max, Math.abs(a));
        }
        StringBuilder html = new StringBuilder(4096);
        html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>troupe explain: ")
                .append(escape(e.target())).append("</title>\n<style>\n")
                .append("body{font-family:sans-serif;margin:2em;max-width:60em}\n")
                .append(".text{font-family:monospace;font-size:1.1em;line-height:2;white-space:pre-wrap}\n")
                .append(".tok{padding:0.1em 0;border-radius:2px}\n")
                .append("table{border-collapse:collapse}td{padding:0.2em 1em 0.2em 0}\n")
                .append("</style></head><body>\n<h1>Token attributions</h1>\n<table>\n");
        row(html, "target", e.target());
        row(html, "method", e.method().label());
        row(html, "score f(x)", format(e.score()));
        if (e.baselineScore() != null) {
            row(html, "baseline", e.baseline());
            row(html, "baseline score f(b)", format(e.baselineScore()));
            row(html, "completeness error", format(e.completenessError()));
        }
        if (e.truncated() > 0) {
            row(html, "truncated", e.truncated() + " tokens left out (longer than the context)");
        }
        html.append("</table>\n<p>Red raises the score, blue lowers it; hover a token for its attribution.</p>\n")
                .append("<div class=\"text\">");
        for (int i = 0; i < e.tokens().size(); i++) {
            double a = e.attributions()[i];
            double strength = max == 0 ? 0 : Math.abs(a) / max;
            String rgb = a >= 0 ? "220,40,40" : "40,90,220";
            html.append("<span class=\"tok\" title=\"").append(escape(format(a))).append("\" style=\"background:rgba(")
                    .append(rgb).append(',').append(String.format(Locale.ROOT, "%.3f", strength)).append(")\">")
                    .append(escape(e.tokens().get(i))).append("</span>");
        }
        html.append("</div>\n</body></html>\n");
        return html.toString();
    }

    private static void row(StringBuilder html, String name, String value) {
        html.append("<tr><td>").append(escape(name)).append("</td><td>").append(escape(value)).append("</td></tr>\n");
    }

    private static String format(double v) {
        return String.format(Locale.ROOT, "%.6g", v);
    }

    /** Escapes text for HTML content and attribute values. */
    static String escape(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(ch);
            }
        }
        return out.toString();
    }
}
