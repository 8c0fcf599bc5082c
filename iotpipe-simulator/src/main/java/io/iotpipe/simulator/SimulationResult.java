package io.iotpipe.simulator;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The summary of a simulation run.
 *
 * @param published  distinct readings sent at least once
 * @param confirmed  readings the edge confirmed (the publisher may forget them)
 * @param nacked     publish attempts the edge refused (its buffer is full: back-pressure)
 * @param returned   publish attempts that matched no queue (topology not applied)
 * @param failed     other failed attempts (connection lost, timeout)
 * @param unconfirmed readings still without a confirm when the run stopped
 * @param seconds    wall-clock duration of the run
 * @param perRegion  confirmed readings per region
 */
public record SimulationResult(String runId, long published, long confirmed, long nacked, long returned, long failed,
                               long unconfirmed, double seconds, Map<String, Long> perRegion, String lastError) {

  public double rate() {
    return seconds <= 0 ? 0 : confirmed / seconds;
  }

  public Map<String, Object> toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("runId", runId);
    m.put("published", published);
    m.put("confirmed", confirmed);
    m.put("nacked", nacked);
    m.put("returned", returned);
    m.put("failed", failed);
    m.put("unconfirmed", unconfirmed);
    m.put("seconds", Math.round(seconds * 100) / 100.0);
    m.put("ratePerSecond", Math.round(rate()));
    m.put("perRegion", perRegion);
    if (lastError != null) {
      m.put("lastError", lastError);
    }
    return m;
  }
}
