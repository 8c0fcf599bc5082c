package io.iotpipe.testkit.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.testkit.LocalStack;
import io.iotpipe.testkit.RoleProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Two lake role processes committing into one table at once, each for its own partitions: two pipelines (two fleets,
 * their own partition queues) whose {@code lake:} sections name the same catalog and warehouse, both committing every
 * second. Their commits race at the catalog's compare-and-swap; Iceberg's optimistic concurrency must retry the loser
 * on the new metadata (never surface the conflict as a failed commit), and every confirmed reading of both fleets must
 * be in the table exactly once. The note counts the commits, how often they alternated between the writers in the
 * table's history, and the retried commits from the writers' logs (Iceberg's {@code Retrying task after failure}).
 */
final class LakeRacingWriters {

  private LakeRacingWriters() {}

  /** Iceberg's log line for a commit it retries after a conflict ({@code org.apache.iceberg.util.Tasks}). */
  static final String RETRIED = "Retrying task after failure";
  /**
   * What a retried commit says when it lost the race: the catalog's pointer moved on since the writer read it
   * ({@code JdbcTableOperations}: "metadata location … has changed from …", seen before the swap), or the
   * compare-and-swap {@code UPDATE} itself matched no row ("Failed to update table").
   */
  static final String MOVED_ON = "has changed from";
  static final String LOST_SWAP = "Failed to update table";
  /** The lake sink's log line when a commit failed despite the retries (its readings come back later). */
  static final String FAILED = "commit of ";

  static ChaosScenarios.Row run(LocalStack stack, boolean quick, ChaosScenarios.LakeAudit audit, Consumer<String> log) throws Exception {
    String name = "lake-racing-writers";
    log.accept("chaos: " + name + " ...");
    Duration load = Duration.ofSeconds(quick ? 30 : 90);
    double rate = 150; // per fleet: two fleets, the machine's usual 300 readings/s in all
    Duration every = Duration.ofSeconds(1);
    // both started before either is waited for: the fleets' loads and the writers' commits overlap from the start
    try (LakeChaos a = LakeChaos.open(stack, rate, load, LakeChaos.commitEvery(every))) {
      String shared = a.prefix + "-lake";
      try (LakeChaos b = LakeChaos.open(stack, rate, load, y -> LakeChaos.commitEvery(every).apply(y.replaceAll("x[0-9a-f]{6}-lake", shared)))) {
        if (!Files.readString(b.cfgFile).contains(shared)) {
          throw new IllegalStateException("the second pipeline's lake section does not name the first's table: see " + b.cfgFile);
        }
        a.awaitStarted();
        b.awaitStarted();
        a.finishLoad();
        b.finishLoad();
        Instant loaded = Instant.now();
        double caught = Math.max(a.caughtUp(loaded), b.caughtUp(loaded));
        List<LakeChaos.Audit> audits = List.of(a.audit(audit), b.audit(audit));
        List<RoleProcess> writers = List.of(a.lake(), b.lake());
        long retried = 0;
        long movedOn = 0;
        long lostSwap = 0;
        long failedCommits = 0;
        for (RoleProcess w : writers) {
          retried += LakeChaos.logLines(w, l -> l.contains(RETRIED));
          movedOn += LakeChaos.logLines(w, l -> l.contains(RETRIED) && l.contains(MOVED_ON));
          lostSwap += LakeChaos.logLines(w, l -> l.contains(RETRIED) && l.contains(LOST_SWAP));
          failedCommits += LakeChaos.logLines(w, l -> l.contains(FAILED));
        }
        History h = history(a.warehouse(), a.prefix, b.prefix);
        List<String> failed = new ArrayList<>();
        if (h.fromA() == 0 || h.fromB() == 0 || h.switches() < 2) {
          // one writer after the other is no race
          failed.add("the writers' commits did not interleave (" + h + ")");
        }
        String note = String.format(java.util.Locale.ROOT, "two lake role processes (two pipelines' partitions) committing every %d s into"
                + " one table (SQLite JDBC catalog) for %d s: %d snapshots in the table (%d by writer A, %d by B), the writer changed %d times"
                + " along the history; optimistic concurrency: Iceberg retried %d commits on the new metadata (%d found the table moved on before the swap,"
                + " %d lost the catalog's compare-and-swap itself), %d commits"
                + " failed after the retries and went back to the queue", every.toSeconds(),
            load.toSeconds(), h.fromA() + h.fromB(), h.fromA(), h.fromB(), h.switches(), retried, movedOn, lostSwap, failedCommits);
        return LakeChaos.row(name, audits, Double.NaN, caught, note, failed);
      }
    }
  }

  /** The table's snapshots by writer, in commit order, and how often consecutive snapshots came from different writers. */
  record History(long fromA, long fromB, long switches) {}

  /** Reads the snapshot log of the table's newest metadata file (the summary names each snapshot's source partition). */
  static History history(Path warehouse, String prefixA, String prefixB) throws IOException {
    Path newest;
    try (Stream<Path> s = Files.walk(warehouse)) {
      newest = s.filter(f -> f.getFileName().toString().endsWith(".metadata.json"))
          .max(Comparator.comparing(f -> f.getFileName().toString())).orElseThrow(() -> new IllegalStateException("no metadata file under " + warehouse));
    }
    JsonNode snapshots = new ObjectMapper().readTree(newest.toFile()).path("snapshots");
    List<JsonNode> ordered = new ArrayList<>();
    snapshots.forEach(ordered::add);
    ordered.sort(Comparator.comparingLong(n -> n.path("sequence-number").asLong()));
    long a = 0;
    long b = 0;
    long switches = 0;
    String last = null;
    for (JsonNode s : ordered) {
      String partition = firstPartition(s.path("summary"));
      String writer = partition.startsWith(prefixA) ? "A" : partition.startsWith(prefixB) ? "B" : null;
      if (writer == null) {
        continue;
      }
      if (writer.equals("A")) {
        a++;
      } else {
        b++;
      }
      if (last != null && !last.equals(writer)) {
        switches++;
      }
      last = writer;
    }
    return new History(a, b, switches);
  }

  /**
   * A snapshot's first source partition: the sink names them in {@code iotpipe.partitions} (a JSON array: one
   * snapshot holds every partition a writer flushed, all of that writer's), tables written before in
   * {@code iotpipe.partition}; "" for snapshots of no writer (compaction, expiry).
   */
  static String firstPartition(JsonNode summary) throws IOException {
    String names = summary.path("iotpipe.partitions").asText("");
    if (!names.isEmpty()) {
      JsonNode array = new ObjectMapper().readTree(names);
      return array.isArray() && !array.isEmpty() ? array.get(0).asText("") : "";
    }
    return summary.path("iotpipe.partition").asText("");
  }
}
