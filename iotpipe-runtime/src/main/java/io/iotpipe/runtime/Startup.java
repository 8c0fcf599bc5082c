package io.iotpipe.runtime;

import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.StringJoiner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When each start-up phase of this process finished, in milliseconds since the JVM started (the OS started it a few
 * ms before that): the restart of a killed role is "down time" for its partitions, and this line says where it went
 * (JVM and class loading, config, sinks, connecting, first delivery, first batch, first ack). Each phase is recorded
 * once; {@link #report} logs them all once the first ack of a sink happened.
 */
public final class Startup {

  private static final Logger LOG = LoggerFactory.getLogger(Startup.class);
  private static final long JVM_START = jvmStart();
  private static final Map<String, Long> MARKS = new LinkedHashMap<>();

  private Startup() {}

  private static long jvmStart() {
    try {
      return ManagementFactory.getRuntimeMXBean().getStartTime();
    } catch (RuntimeException | Error e) {
      return System.currentTimeMillis();
    }
  }

  /** Records {@code phase} as finished now, unless it was recorded before. */
  public static void mark(String phase) {
    long at = System.currentTimeMillis() - JVM_START;
    synchronized (MARKS) {
      MARKS.putIfAbsent(phase, at);
    }
  }

  /** The phases recorded so far, in the order they were first recorded, as "phase +ms". */
  public static String timeline() {
    StringJoiner j = new StringJoiner(", ");
    synchronized (MARKS) {
      MARKS.forEach((k, v) -> j.add(k + " +" + v + " ms"));
    }
    return j.toString();
  }

  /** Logs the timeline once per {@code sink}, at its first ack. */
  public static void report(String sink) {
    String key = sink + ": first ack";
    boolean first;
    synchronized (MARKS) {
      first = !MARKS.containsKey(key);
    }
    if (first) {
      mark(key);
      LOG.info("start-up (ms since the JVM started): {}", timeline());
    }
  }
}
