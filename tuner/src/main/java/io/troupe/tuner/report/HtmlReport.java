package io.troupe.tuner.report;

import io.troupe.tuner.analysis.ParameterImportance;
import io.troupe.tuner.analysis.ParetoFront;
import io.troupe.tuner.space.Parameter;
import io.troupe.tuner.space.SearchSpace;
import io.troupe.tuner.store.TrialRecord;
import io.troupe.tuner.store.TrialState;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A self-contained HTML page (inline SVG and CSS, no script, nothing fetched) with:
 * <ul>
 *   <li>val loss against step for every trial: complete trials in colour, pruned ones grey and
 *       dashed ending in a cross, failed ones red and dotted, the best one thick; ASHA's rungs
 *       as vertical lines;</li>
 *   <li>for every parameter, each trial's objective against its value (log axis for log
 *       ranges): filled circles for complete trials, hollow ones for pruned;</li>
 *   <li>the trial table.</li>
 * </ul>
 * Every mark has a tooltip ({@code <title>}) naming the trial.
 */
public final class HtmlReport {
    private static final int W = 640;
    private static final int H = 360;
    private static final int LEFT = 60;
    private static final int RIGHT = 20;
    private static final int TOP = 20;
    private static final int BOTTOM = 40;

    private HtmlReport() {
    }

    /** The page for a study's results; {@code space} gives axis kinds (null: infer linear / categorical). */
    public static String render(StudyResults results, SearchSpace space) {
        StringBuilder out = new StringBuilder();
        out.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Troupe study</title>\n")
                .append("<style>body{font-family:sans-serif;margin:2em;color:#222}svg{background:#fff;border:1px solid #ccc;"
                        + "margin:0.5em 0}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
                        + "padding:2px 6px;text-align:left}.axis{font-size:11px;fill:#444}</style></head><body>\n");
        out.append("<h1>Study ").append(escape(results.study().name())).append("</h1>\n<p>")
                .append(escape(String.format(Locale.ROOT, "%d trials, sampler %s, pruner %s, %d steps per trial.",
                        results.trials().size(), results.study().sampler(), results.study().pruner(),
                        results.study().steps()))).append("</p>\n");
        out.append("<h2>Validation loss against step</h2>\n").append(curves(results));
        out.append("<h2>Validation loss against each hyperparameter</h2>\n");
        for (String key : results.parameterKeys()) {
            Parameter p = space == null ? null : space.parameter(key);
            out.append(scatter(results, key, p instanceof Parameter.LogRange));
        }
        if (space != null) {
            out.append(importance(results, space));
            List<ParetoFront.Objective> objectives = ParetoFront.of(space);
            if (objectives.size() > 1) {
                out.append(pareto(results, objectives));
            }
        }
        if (!results.lineage().isEmpty()) {
            out.append(lineage(results));
        }
        out.append("<h2>Trials</h2>\n<pre>").append(escape(results.table())).append("</pre>\n</body></html>\n");
        return out.toString();
    }

    private static String curves(StudyResults results) {
        long maxStep = Math.max(1, results.study().steps());
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (TrialRecord t : results.trials()) {
            for (Map.Entry<Long, Double> e : t.intermediate().entrySet()) {
                // Step 0 is the untrained model; its loss would squash every curve to the bottom.
                if (e.getKey() > 0 && Double.isFinite(e.getValue())) {
                    lo = Math.min(lo, e.getValue());
                    hi = Math.max(hi, e.getValue());
                }
            }
        }
        if (!(lo < hi)) {
            lo = lo == Double.POSITIVE_INFINITY ? 0 : lo - 0.5;
            hi = lo + 1;
        }
        Axis x = new Axis(0, maxStep, false);
        Axis y = new Axis(lo, hi, false);
        StringBuilder svg = frame(x, y, "step", "val loss");
        for (long rung : results.rungs()) {
            double px = x.px(rung, LEFT, W - RIGHT);
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\" "
                    + "stroke-dasharray=\"6 4\"><title>ASHA rung at step %d</title></line>"
                    + "<text class=\"axis\" x=\"%.1f\" y=\"%d\">rung %d</text>\n", px, TOP, px, H - BOTTOM, rung,
                    px + 3, TOP + 12, rung));
        }
        Integer best = results.best().map(TrialRecord::number).orElse(null);
        int i = 0;
        for (TrialRecord t : results.trials()) {
            List<double[]> points = new ArrayList<>();
            for (Map.Entry<Long, Double> e : t.intermediate().entrySet()) {
                if (e.getKey() > 0 && Double.isFinite(e.getValue())) {
                    points.add(new double[]{x.px(e.getKey(), LEFT, W - RIGHT),
                        y.pxInverted(Math.min(hi, e.getValue()), TOP, H - BOTTOM)});
                }
            }
            String color = switch (t.state()) {
                case PRUNED -> "#aaa";
                case FAILED -> "#d33";
                default -> "hsl(" + (i * 137 % 360) + ",65%,42%)";
            };
            i++;
            String dash = t.state() == TrialState.PRUNED ? " stroke-dasharray=\"4 3\""
                    : t.state() == TrialState.FAILED ? " stroke-dasharray=\"1 3\"" : "";
            double width = best != null && best == t.number() ? 3 : 1.5;
            String title = escape("trial " + t.number() + " " + t.state() + " " + params(t)
                    + (t.reason() == null ? "" : " - " + t.reason()));
            if (points.isEmpty()) {
                continue;
            }
            StringBuilder d = new StringBuilder();
            for (double[] p : points) {
                d.append(d.length() == 0 ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f", p[0], p[1]));
            }
            svg.append(String.format(Locale.ROOT, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s>"
                    + "<title>%s</title></path>\n", d, color, width, dash, title));
            double[] end = points.get(points.size() - 1);
            if (t.state() == TrialState.PRUNED || t.state() == TrialState.FAILED) {
                svg.append(String.format(Locale.ROOT, "<path d=\"M%.1f %.1f l6 6 M%.1f %.1f l6 -6\" stroke=\"%s\" "
                        + "stroke-width=\"2\"><title>%s</title></path>\n", end[0] - 3, end[1] - 3, end[0] - 3, end[1] + 3,
                        color, title));
            }
        }
        return svg.append("</svg>\n").toString();
    }

    private static String scatter(StudyResults results, String key, boolean log) {
        List<TrialRecord> shown = results.trials().stream()
                .filter(t -> Double.isFinite(t.value()) && t.params().containsKey(key)).toList();
        List<Object> categories = new ArrayList<>();
        boolean numeric = true;
        for (TrialRecord t : shown) {
            Object v = t.params().get(key);
            numeric &= v instanceof Number;
            if (!categories.contains(v)) {
                categories.add(v);
            }
        }
        double xlo = Double.POSITIVE_INFINITY;
        double xhi = Double.NEGATIVE_INFINITY;
        double ylo = Double.POSITIVE_INFINITY;
        double yhi = Double.NEGATIVE_INFINITY;
        for (TrialRecord t : shown) {
            double xv = numeric ? ((Number) t.params().get(key)).doubleValue() : categories.indexOf(t.params().get(key));
            xlo = Math.min(xlo, xv);
            xhi = Math.max(xhi, xv);
            ylo = Math.min(ylo, t.value());
            yhi = Math.max(yhi, t.value());
        }
        if (shown.isEmpty()) {
            xlo = 0;
            xhi = 1;
            ylo = 0;
            yhi = 1;
        }
        if (!(xlo < xhi)) {
            xlo = log ? xlo / 2 : xlo - 1;
            xhi = log ? xhi * 2 : xhi + 1;
        }
        if (!(ylo < yhi)) {
            ylo -= 0.05;
            yhi += 0.05;
        }
        if (!numeric) {
            xlo = -0.5;
            xhi = categories.size() - 0.5;
        }
        Axis x = new Axis(xlo, xhi, log && numeric);
        Axis y = new Axis(ylo, yhi, false);
        StringBuilder svg = frame(x, y, key, "val loss");
        if (!numeric) {
            for (int c = 0; c < categories.size(); c++) {
                svg.append(String.format(Locale.ROOT, "<text class=\"axis\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                        x.px(c, LEFT, W - RIGHT), H - BOTTOM + 28, escape(String.valueOf(categories.get(c)))));
            }
        }
        for (TrialRecord t : shown) {
            Object v = t.params().get(key);
            double xv = numeric ? ((Number) v).doubleValue() : categories.indexOf(v);
            boolean complete = t.state() == TrialState.COMPLETE;
            svg.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" stroke=\"#357\">"
                    + "<title>%s</title></circle>\n", x.px(xv, LEFT, W - RIGHT), y.pxInverted(t.value(), TOP, H - BOTTOM),
                    complete ? "#357" : "none",
                    escape("trial " + t.number() + " " + t.state() + ": " + key + " = " + v + ", val loss "
                            + String.format(Locale.ROOT, "%.4f", t.value()))));
        }
        return svg.append("</svg>\n").toString();
    }

    /** Bars of each parameter's share of the val loss variance (first-order fANOVA over complete trials). */
    private static String importance(StudyResults results, SearchSpace space) {
        StringBuilder out = new StringBuilder("<h2>Parameter importance</h2>\n");
        String notApplicable = ParameterImportance.notApplicableTo(results.study().pruner());
        if (notApplicable != null) {
            return out.append("<p>Not computed: ").append(escape(notApplicable)).append(".</p>\n").toString();
        }
        ParameterImportance.Result r = ParameterImportance.of(space, results.trials());
        if (r.trials() < 2) {
            return out.append("<p>Needs at least two complete trials.</p>\n").toString();
        }
        out.append(String.format(Locale.ROOT, "<p>Share of the val loss variance between groups of each parameter's values,"
                + " over %d complete trials (first-order functional ANOVA from the trials themselves; rough with few"
                + " trials).</p>\n<table><tr><th>parameter</th><th>variance explained</th><th></th></tr>\n", r.trials()));
        for (ParameterImportance.Importance i : r.importances()) {
            out.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%.3f</td><td><svg width=\"%d\" height=\"12\">"
                    + "<rect width=\"%.1f\" height=\"12\" fill=\"#357\"/></svg></td></tr>\n",
                    escape(i.key()), i.varianceExplained(), 300, 300 * i.varianceExplained()));
        }
        return out.append("</table>\n").toString();
    }

    /** Val loss against the second objective; the Pareto front's trials filled red and joined. */
    private static String pareto(StudyResults results, List<ParetoFront.Objective> objectives) {
        ParetoFront.Objective second = objectives.get(1);
        List<TrialRecord> done = results.trials().stream().filter(t -> t.state() == TrialState.COMPLETE)
                .filter(t -> Double.isFinite(t.value()) && Double.isFinite(second.of(t))).toList();
        List<TrialRecord> front = new ArrayList<>(ParetoFront.front(results.trials(), objectives));
        StringBuilder out = new StringBuilder("<h2>Pareto front</h2>\n<p>")
                .append(escape(String.format(Locale.ROOT, "Objectives %s; %d of %d complete trials are on the front: %s.",
                        objectives, front.size(), done.size(),
                        front.stream().map(t -> "trial " + t.number()).toList()))).append("</p>\n");
        if (done.isEmpty()) {
            return out.toString();
        }
        double xlo = done.stream().mapToDouble(second::of).min().orElse(0);
        double xhi = done.stream().mapToDouble(second::of).max().orElse(1);
        double ylo = done.stream().mapToDouble(TrialRecord::value).min().orElse(0);
        double yhi = done.stream().mapToDouble(TrialRecord::value).max().orElse(1);
        Axis x = new Axis(xlo < xhi ? xlo : xlo - 1, xlo < xhi ? xhi : xhi + 1, false);
        Axis y = new Axis(ylo < yhi ? ylo : ylo - 0.05, ylo < yhi ? yhi : yhi + 0.05, false);
        StringBuilder svg = frame(x, y, second.toString(), "val loss");
        front.sort(java.util.Comparator.comparingDouble(second::of));
        StringBuilder d = new StringBuilder();
        for (TrialRecord t : front) {
            d.append(d.length() == 0 ? "M" : " L").append(String.format(Locale.ROOT, "%.1f %.1f",
                    x.px(second.of(t), LEFT, W - RIGHT), y.pxInverted(t.value(), TOP, H - BOTTOM)));
        }
        svg.append("<path d=\"").append(d).append("\" fill=\"none\" stroke=\"#d33\" stroke-dasharray=\"4 3\"/>\n");
        for (TrialRecord t : done) {
            boolean on = front.contains(t);
            svg.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\" stroke=\"#333\">"
                    + "<title>%s</title></circle>\n", x.px(second.of(t), LEFT, W - RIGHT), y.pxInverted(t.value(), TOP, H - BOTTOM),
                    on ? "#d33" : "none", escape(String.format(Locale.ROOT, "trial %d%s: val loss %.4f, %s %.4g", t.number(),
                            on ? " (front)" : "", t.value(), second.name(), second.of(t)))));
        }
        return out.append(svg.append("</svg>\n")).toString();
    }

    /**
     * Population-based training's lineage: one row per member, step across; an arrow from the
     * parent's row to the member's at each step where the member copied the parent, and the
     * copies as a table with the new settings.
     */
    private static String lineage(StudyResults results) {
        List<TrialRecord> members = results.trials().stream()
                .sorted(java.util.Comparator.comparingInt(TrialRecord::number)).toList();
        int rows = members.size();
        int rowH = 18;
        int height = TOP + BOTTOM + rows * rowH;
        long maxStep = Math.max(1, results.study().steps());
        StringBuilder svg = new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n"
                        + "<defs><marker id=\"arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"6\" refY=\"3\" orient=\"auto\">"
                        + "<path d=\"M0 0 L6 3 L0 6 z\" fill=\"#d33\"/></marker></defs>\n", W, height, W, height));
        java.util.Map<Integer, Integer> row = new java.util.HashMap<>();
        Integer best = results.best().map(TrialRecord::number).orElse(null);
        for (int r = 0; r < rows; r++) {
            TrialRecord t = members.get(r);
            row.put(t.number(), r);
            double y = TOP + r * rowH + rowH / 2.0;
            svg.append(String.format(Locale.ROOT, "<text class=\"axis\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">trial %d</text>"
                    + "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%d\"/>\n",
                    LEFT - 4, y + 4, t.number(), LEFT, y, W - RIGHT, y, best != null && best == t.number() ? "#357" : "#bbb",
                    best != null && best == t.number() ? 3 : 1));
        }
        for (io.troupe.tuner.store.LineageEvent e : results.lineage()) {
            Integer from = row.get(e.parent());
            Integer to = row.get(e.number());
            if (from == null || to == null) {
                continue;
            }
            double x = LEFT + (W - LEFT - RIGHT) * (double) e.step() / maxStep;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d33\""
                    + " marker-end=\"url(#arrow)\"><title>%s</title></line>\n", x, TOP + from * rowH + rowH / 2.0, x,
                    TOP + to * rowH + rowH / 2.0, escape("step " + e.step() + ": trial " + e.number() + " copies trial "
                            + e.parent())));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step (0 to %d)</text>\n",
                (LEFT + W - RIGHT) / 2, height - 8, maxStep));
        StringBuilder out = new StringBuilder("<h2>Population-based training lineage</h2>\n<p>Each arrow: at that step the"
                + " member at its head took the weights and optimizer state of the member at its tail, then perturbed"
                + " its settings.</p>\n").append(svg.append("</svg>\n"));
        out.append("<table><tr><th>step</th><th>trial</th><th>copied</th><th>new settings</th></tr>\n");
        for (io.troupe.tuner.store.LineageEvent e : results.lineage()) {
            StringBuilder p = new StringBuilder();
            e.params().forEach((k, v) -> p.append(p.length() == 0 ? "" : ", ").append(k).append('=')
                    .append(StudyResults.format(v)));
            out.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%d</td><td>%d</td><td>%s</td></tr>\n", e.step(),
                    e.number(), e.parent(), escape(p.toString())));
        }
        return out.append("</table>\n").toString();
    }

    /** The SVG element with axes, ticks and labels. */
    private static StringBuilder frame(Axis x, Axis y, String xLabel, String yLabel) {
        StringBuilder svg = new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", W, H, W, H));
        svg.append(String.format(Locale.ROOT, "<path d=\"M%d %d V%d H%d\" fill=\"none\" stroke=\"#444\"/>\n",
                LEFT, TOP, H - BOTTOM, W - RIGHT));
        for (int i = 0; i <= 4; i++) {
            double f = i / 4.0;
            double yv = y.lo + (y.hi - y.lo) * f;
            double py = y.pxInverted(yv, TOP, H - BOTTOM);
            svg.append(String.format(Locale.ROOT, "<text class=\"axis\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3f</text>"
                    + "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>\n",
                    LEFT - 4, py + 4, yv, LEFT, py, W - RIGHT, py));
            double xv = x.value(f);
            svg.append(String.format(Locale.ROOT, "<text class=\"axis\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                    x.px(xv, LEFT, W - RIGHT), H - BOTTOM + 14, tick(xv)));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>"
                + "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">%s</text>\n",
                (LEFT + W - RIGHT) / 2, H - 4, escape(xLabel), (TOP + H - BOTTOM) / 2, (TOP + H - BOTTOM) / 2, escape(yLabel)));
        return svg;
    }

    /** A linear or logarithmic axis from data values to pixels. */
    private record Axis(double lo, double hi, boolean log) {
        double fraction(double v) {
            return log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo);
        }

        double value(double fraction) {
            return log ? Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * fraction) : lo + (hi - lo) * fraction;
        }

        double px(double v, int from, int to) {
            return from + (to - from) * fraction(v);
        }

        double pxInverted(double v, int top, int bottom) {
            return bottom - (bottom - top) * fraction(v);
        }
    }

    /** A tick label: whole numbers as such (steps, layers), others with 3 significant digits. */
    private static String tick(double v) {
        if (Math.abs(v) >= 100 || v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        String s = String.format(Locale.ROOT, "%.3g", v);
        return s.contains("e") || !s.contains(".") ? s : s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }

    private static String params(TrialRecord t) {
        StringBuilder s = new StringBuilder();
        t.params().forEach((k, v) -> s.append(s.length() == 0 ? "" : ", ").append(k).append('=').append(StudyResults.format(v)));
        return s.toString();
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
