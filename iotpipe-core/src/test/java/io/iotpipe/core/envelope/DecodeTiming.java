package io.iotpipe.core.envelope;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Rough hot-path timing of {@link TelemetryCodec#decode} (not a test; no JMH here on purpose, it is a before/after
 * sanity check): {@code java -cp <test classpath> io.iotpipe.core.envelope.DecodeTiming [decodes] [rounds]}.
 * Prints the median nanoseconds per decode of realistic readings over several rounds after a warm-up, as wall time and
 * as this thread's CPU time (the latter is what to compare on a shared, loaded machine).
 */
public final class DecodeTiming {

  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
    Instant now = Instant.parse("2026-11-23T12:00:00Z");
    TelemetryCodec codec = new TelemetryCodec(ContractLimits.DEFAULTS, Clock.fixed(now, ZoneOffset.UTC));
    byte[][] bodies = new byte[1024][];
    for (int i = 0; i < bodies.length; i++) {
      Map<String, Double> m = new LinkedHashMap<>();
      m.put("powerKw", 11.0 + i % 7);
      m.put("energyKwh", 1234.5 + i);
      m.put("soc", 54.5);
      m.put("voltage", 229.7);
      bodies[i] = codec.encode(new Telemetry("ch-" + (100000 + i), 1 + i, now.minusSeconds(i), "ams-03", "eu-west",
          "CHARGING", i % 10 == 0 ? "E42" : null, m));
    }
    System.out.println("body size ~" + bodies[1].length + " bytes, " + n + " decodes per round");
    double[] ns = new double[rounds];
    double[] cpu = new double[rounds];
    var threads = java.lang.management.ManagementFactory.getThreadMXBean();
    long sink = 0;
    for (int r = -2; r < rounds; r++) { // two warm-up rounds
      long c0 = threads.getCurrentThreadCpuTime();
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        if (codec.decode(bodies[i & 1023]) instanceof Decoded.Valid v) {
          sink += v.telemetry().seq();
        }
      }
      long t = System.nanoTime() - t0;
      long c = threads.getCurrentThreadCpuTime() - c0;
      if (r >= 0) {
        ns[r] = (double) t / n;
        cpu[r] = (double) c / n;
      }
    }
    Arrays.sort(ns);
    Arrays.sort(cpu);
    System.out.printf("wall: median %.0f ns/decode (min %.0f, max %.0f); cpu: median %.0f ns/decode (min %.0f) [%d]%n",
        ns[rounds / 2], ns[0], ns[rounds - 1], cpu[rounds / 2], cpu[0], sink % 7);
  }
}
