package io.iotpipe.tools.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the lake role's commits cost in a drain, from its {@code /metrics} page: commits, readings and objects per
 * commit, commits per minute at the measured rate, and each phase's share of the commit time (the catalog's among
 * them) — the figures a user sizes {@code lake.commitInterval} with against S3 request prices.
 */
final class LakeCommitCost {

  static final List<String> PHASES = List.of("refresh", "data-files", "state-file", "catalog");

  private LakeCommitCost() {}

  static Map<String, Object> of(List<String> page, double rate) {
    Map<String, Object> c = new LinkedHashMap<>();
    double commits = PromText.sum(page, "iotpipe_lake_commit_rows_count", Map.of());
    double rows = PromText.sum(page, "iotpipe_lake_commit_rows_sum", Map.of());
    double objects = PromText.sum(page, "iotpipe_lake_objects_written_total", Map.of());
    c.put("commits", Math.round(commits));
    if (commits == 0) {
      return c;
    }
    double perCommit = rows / commits;
    c.put("readingsPerCommit", Math.round(perCommit));
    c.put("objectsPerCommit", Math.round(objects / commits * 10) / 10.0); // hand-offs' objects included
    c.put("commitsPerMinuteAtRate", Math.round(rate / perCommit * 60));
    double total = 0;
    Map<String, Double> seconds = new LinkedHashMap<>();
    for (String phase : PHASES) {
      double s = PromText.sum(page, "iotpipe_lake_commit_phase_seconds_sum", Map.of("phase", phase));
      seconds.put(phase, s);
      total += s;
    }
    c.put("meanCommitMs", Math.round(total / commits * 1000));
    Map<String, Object> share = new LinkedHashMap<>();
    for (String phase : PHASES) {
      share.put(phase, total == 0 ? 0 : Math.round(seconds.get(phase) / total * 100) / 100.0);
    }
    c.put("shareOfCommitTime", share);
    // the hand-off (data files and a stage record per partition, acked then) when the storage lists
    double stages = PromText.sum(page, "iotpipe_lake_stage_rows_count", Map.of());
    if (stages > 0) {
      Map<String, Object> h = new LinkedHashMap<>();
      h.put("stages", Math.round(stages));
      h.put("readingsPerStage", Math.round(PromText.sum(page, "iotpipe_lake_stage_rows_sum", Map.of()) / stages));
      for (String phase : List.of("data-files", "stage-record")) {
        h.put("meanMs." + phase, Math.round(PromText.sum(page, "iotpipe_lake_stage_phase_seconds_sum", Map.of("phase", phase)) / stages * 1000));
      }
      c.put("handOff", h);
    }
    return c;
  }
}
