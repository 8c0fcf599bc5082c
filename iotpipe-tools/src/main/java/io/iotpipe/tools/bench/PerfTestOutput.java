package io.iotpipe.tools.bench;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The summary PerfTest prints when its run ends ("id: ..., sending rate avg: 9605 msg/s" and the receiving rate). */
record PerfTestOutput(double sendingAvg, double receivingAvg) {

  private static final Pattern SENDING = Pattern.compile("sending rate avg: (\\d+(?:\\.\\d+)?) msg/s");
  private static final Pattern RECEIVING = Pattern.compile("receiving rate avg: (\\d+(?:\\.\\d+)?) msg/s");

  /** The queue's throughput: what was both published (confirmed) and consumed (acked). */
  double rate() {
    return Math.min(sendingAvg, receivingAvg);
  }

  static PerfTestOutput parse(String output) {
    Matcher s = SENDING.matcher(output);
    Matcher r = RECEIVING.matcher(output);
    if (!s.find() || !r.find()) {
      String tail = output.length() > 2000 ? output.substring(output.length() - 2000) : output;
      throw new IllegalStateException("PerfTest printed no summary (\"sending rate avg\" / \"receiving rate avg\"); its output ended with:\n" + tail);
    }
    return new PerfTestOutput(Double.parseDouble(s.group(1)), Double.parseDouble(r.group(1)));
  }
}
