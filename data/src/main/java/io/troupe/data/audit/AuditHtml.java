package io.troupe.data.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code audit.html}: the data audit as one self-contained page, its charts inline SVG (no
 * script, no stylesheet or font from elsewhere), rendered from the JSON of {@link DataAudit}.
 */
public final class AuditHtml {
    private static final int WIDTH = 640;
    private static final int ROW = 18;
    private static final int LABEL = 150;

    private AuditHtml() {
    }

    private record Bar(String label, double value, String text) {
    }

    /** The page for {@code audit} (a {@link DataAudit#toJson} object), titled with the dataset's name. */
    public static String render(JsonNode audit, String title) {
        StringBuilder h = new StringBuilder(16_384);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Data audit: ")
                .append(escape(title)).append("</title>\n<style>body{font-family:sans-serif;max-width:720px;margin:2em auto}"
                        + "td,th{padding:2px 8px;text-align:right}th:first-child,td:first-child{text-align:left}</style>"
                        + "</head><body>\n<h1>Data audit: ").append(escape(title)).append("</h1>\n");
        JsonNode g = audit.path("gendered_terms");
        h.append(String.format(Locale.ROOT, "<p>%,d documents, %,d words. Gendered terms: %,d male, %,d female "
                + "(male/female %s, %s per 1,000 words; list: %s).</p>%n", audit.path("documents").asLong(),
                audit.path("words").asLong(), g.path("male").asLong(), g.path("female").asLong(),
                number(g.path("male_to_female")), number(g.path("per_1000_words")), escape(g.path("word_list").asText())));

        h.append("<h2>Gendered terms</h2>\n");
        List<Bar> male = new ArrayList<>();
        for (JsonNode p : g.path("pairs")) {
            male.add(new Bar(p.path("male").asText() + " / " + p.path("female").asText(),
                    p.path("male_count").asLong() - p.path("female_count").asLong(),
                    p.path("male_count").asLong() + " / " + p.path("female_count").asLong()));
        }
        h.append("<p>Male minus female count per pair (right: more male).</p>\n").append(diverging(male));

        JsonNode occ = audit.path("occupations");
        h.append("<h2>Occupations near gendered terms</h2>\n<p>Share of male terms among the gendered terms within ")
                .append(occ.path("window_words").asInt()).append(" words of each occupation, most one-sided first"
                        + " (0.5 is balanced; at least ").append(occ.path("min_gendered_terms").asInt())
                .append(" terms).</p>\n");
        List<Bar> skew = new ArrayList<>();
        for (JsonNode o : occ.path("top_skewed")) {
            skew.add(new Bar(o.path("occupation").asText(), o.path("male_share").asDouble() - 0.5,
                    String.format(Locale.ROOT, "%.2f (%d/%d)", o.path("male_share").asDouble(),
                            o.path("male_nearby").asLong(), o.path("female_nearby").asLong())));
        }
        h.append(skew.isEmpty() ? "<p>No occupation has enough gendered terms nearby.</p>\n" : diverging(skew));

        h.append("<h2>Document length (characters)</h2>\n");
        List<Bar> lengths = new ArrayList<>();
        for (JsonNode b : audit.path("length_chars").path("histogram")) {
            lengths.add(new Bar(b.path("from").asLong() + "–" + (b.path("below").asLong() - 1),
                    b.path("documents").asLong(), Long.toString(b.path("documents").asLong())));
        }
        h.append(bars(lengths));

        h.append("<h2>Characters</h2>\n");
        List<Bar> classes = new ArrayList<>();
        audit.path("character_classes").fields().forEachRemaining(e -> classes.add(new Bar(e.getKey(),
                e.getValue().asDouble(), String.format(Locale.ROOT, "%.2f%%", 100 * e.getValue().asDouble()))));
        h.append(bars(classes));
        List<Bar> scripts = new ArrayList<>();
        audit.path("letter_scripts").fields().forEachRemaining(e -> scripts.add(new Bar(e.getKey(),
                e.getValue().asDouble(), String.format(Locale.ROOT, "%.3f%%", 100 * e.getValue().asDouble()))));
        h.append("<p>Letters by script.</p>\n").append(bars(scripts));

        JsonNode d = audit.path("duplicates");
        h.append(String.format(Locale.ROOT, "<h2>Duplicates</h2>%n<p>%,d exact and %,d near duplicates removed of "
                + "%,d documents (rate %s).</p>%n</body></html>%n", d.path("exact").asLong(), d.path("near").asLong(),
                d.path("documents_before_dedup").asLong(), number(d.path("rate"))));
        return h.toString();
    }

    /** Horizontal bars from zero, scaled to the largest value. */
    private static String bars(List<Bar> bars) {
        double max = bars.stream().mapToDouble(Bar::value).max().orElse(1);
        StringBuilder s = svg(bars.size());
        int plot = WIDTH - LABEL - 110;
        for (int i = 0; i < bars.size(); i++) {
            Bar b = bars.get(i);
            int y = i * ROW;
            double w = max <= 0 ? 0 : plot * b.value() / max;
            label(s, b.label(), y);
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#4a7ab5\"/>"
                    + "<text x=\"%.1f\" y=\"%d\" font-size=\"12\">%s</text>%n", LABEL, y + 2, w, ROW - 4,
                    LABEL + w + 4, y + ROW - 5, escape(b.text())));
        }
        return s.append("</svg>\n").toString();
    }

    /** Bars left or right of a centre line, scaled to the largest magnitude. */
    private static String diverging(List<Bar> bars) {
        double max = bars.stream().mapToDouble(b -> Math.abs(b.value())).max().orElse(1);
        StringBuilder s = svg(bars.size());
        int half = (WIDTH - LABEL - 110) / 2;
        int centre = LABEL + half;
        for (int i = 0; i < bars.size(); i++) {
            Bar b = bars.get(i);
            int y = i * ROW;
            double w = max == 0 ? 0 : half * Math.abs(b.value()) / max;
            double x = b.value() >= 0 ? centre : centre - w;
            label(s, b.label(), y);
            s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>%n", x, y + 2, w, ROW - 4,
                    b.value() >= 0 ? "#4a7ab5" : "#c0504d", centre + half + 6, y + ROW - 5, escape(b.text())));
        }
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"0\" y2=\"%d\" stroke=\"#333\"/>%n", centre,
                centre, bars.size() * ROW));
        return s.append("</svg>\n").toString();
    }

    private static StringBuilder svg(int rows) {
        return new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">%n", WIDTH,
                Math.max(ROW, rows * ROW)));
    }

    private static void label(StringBuilder s, String text, int y) {
        s.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"%d\" font-size=\"12\">%s</text>", y + ROW - 5, escape(text)));
    }

    private static String number(JsonNode n) {
        return n.isNumber() ? String.format(Locale.ROOT, "%.3f", n.asDouble()) : "n/a";
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
