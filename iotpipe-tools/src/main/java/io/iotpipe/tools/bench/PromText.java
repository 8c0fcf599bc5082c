package io.iotpipe.tools.bench;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the few figures bench needs from the role processes' Prometheus text pages: counter sums and cumulative
 * histogram buckets. Hand-written (about 60 lines) because the Prometheus Java client ships no parser for the text
 * format, and bench reads only sample lines of known metrics.
 */
final class PromText {

  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})?\\s+(\\S+)(?:\\s+\\d+)?$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  record Sample(String name, Map<String, String> labels, double value) {}

  private PromText() {}

  static Sample parse(String line) {
    if (line.isBlank() || line.startsWith("#")) {
      return null;
    }
    Matcher m = SAMPLE.matcher(line.trim());
    if (!m.matches()) {
      return null;
    }
    Map<String, String> labels = new HashMap<>();
    if (m.group(2) != null) {
      Matcher l = LABEL.matcher(m.group(2));
      while (l.find()) {
        labels.put(l.group(1), l.group(2));
      }
    }
    double v = switch (m.group(3)) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(m.group(3));
    };
    return new Sample(m.group(1), labels, v);
  }

  /** Sum of the samples named {@code name} whose labels include {@code match}. */
  static double sum(List<String> lines, String name, Map<String, String> match) {
    double total = 0;
    for (String line : lines) {
      Sample s = parse(line);
      if (s != null && s.name().equals(name) && s.labels().entrySet().containsAll(match.entrySet())) {
        total += s.value();
      }
    }
    return total;
  }

  /** Cumulative counts per upper bound ({@code le}) of histogram {@code name} (without "_bucket"), summed over series. */
  static TreeMap<Double, Double> buckets(List<String> lines, String name, Map<String, String> match) {
    TreeMap<Double, Double> out = new TreeMap<>();
    for (String line : lines) {
      Sample s = parse(line);
      if (s != null && s.name().equals(name + "_bucket") && s.labels().containsKey("le")
          && s.labels().entrySet().containsAll(match.entrySet())) {
        double le = s.labels().get("le").equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(s.labels().get("le"));
        out.merge(le, s.value(), Double::sum);
      }
    }
    return out;
  }

  /** {@code after - before}, bucket by bucket: the histogram of what was recorded in between. */
  static TreeMap<Double, Double> minus(TreeMap<Double, Double> after, TreeMap<Double, Double> before) {
    TreeMap<Double, Double> out = new TreeMap<>();
    after.forEach((le, n) -> out.put(le, n - before.getOrDefault(le, 0.0)));
    return out;
  }

  /**
   * The {@code q} quantile of cumulative buckets, linear within the bucket it falls in (0 is the lower bound of the
   * first). NaN when empty; when it falls in the +Inf bucket, the highest finite bound (a lower bound of the truth).
   */
  static double quantile(TreeMap<Double, Double> cumulative, double q) {
    if (cumulative.isEmpty()) {
      return Double.NaN;
    }
    double total = cumulative.lastEntry().getValue();
    if (total <= 0) {
      return Double.NaN;
    }
    double rank = q * total;
    double lower = 0;
    double below = 0;
    for (var e : cumulative.entrySet()) {
      if (e.getValue() >= rank) {
        if (e.getKey().isInfinite()) {
          return lower;
        }
        double inBucket = e.getValue() - below;
        return inBucket <= 0 ? e.getKey() : lower + (e.getKey() - lower) * (rank - below) / inBucket;
      }
      lower = e.getKey();
      below = e.getValue();
    }
    return lower;
  }
}
