package io.iotpipe.testkit.chaos;

import io.iotpipe.testkit.LocalStack;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * {@code kill -9} of the lake role while it commits, several times under load. The trigger is the commit itself: the
 * sink writes the commit's state file ({@code metadata/iotpipe-state/<commit id>.json}) right before it
 * asks the catalog to swap in the snapshot, so the process is killed the moment a new state file appears on the S3
 * server's disk — between the data files' upload and the catalog swap, or just after the swap and before the acks.
 * Afterwards the table's metadata says which of the interrupted commits landed (readings not yet acked come back as
 * redeliveries and must not be written twice) and which did not (their readings, acked at the hand-off, must be
 * committed by the restarted role's claim of the stages); either way every confirmed reading must be in the table
 * exactly once.
 */
final class LakeKillDuringCommit {

  private LakeKillDuringCommit() {}

  static ChaosScenarios.Row run(LocalStack stack, boolean quick, ChaosScenarios.LakeAudit audit, Consumer<String> log) throws Exception {
    String name = "lake-kill-during-commit";
    log.accept("chaos: " + name + " ...");
    int kills = quick ? 2 : 4;
    double rate = 300;
    // long enough for every kill to find a commit under load even when a busy machine takes 20 s to start the role
    Duration load = Duration.ofSeconds(quick ? 60 : 90);
    try (LakeChaos p = LakeChaos.start(stack, rate, load, LakeChaos.commitEvery(Duration.ofSeconds(1)))) {
      Path state = stateDir(p.warehouse());
      List<String> interrupted = new ArrayList<>();
      List<Double> restartToAck = new ArrayList<>();
      Instant lastRestart = null;
      for (int k = 0; k < kills; k++) {
        Set<String> before = commitIds(state);
        // a new state file: the commit of that id is under way (polled every 5 ms: a commit takes about 100 ms)
        ChaosScenarios.waitFor(Duration.ofSeconds(60), "a commit of the lake role (a new state file under " + state + ")", () -> {
          boolean started = !before.containsAll(commitIds(state));
          if (!started) {
            try {
              TimeUnit.MILLISECONDS.sleep(5); // tighter than waitFor's own 200 ms: the kill must land within the commit
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          return started;
        });
        p.lake().kill();
        Set<String> now = commitIds(state);
        now.removeAll(before);
        interrupted.addAll(now);
        log.accept("chaos: " + name + ": kill -9 of the lake role during commit " + now);
        ChaosScenarios.pause(Duration.ofSeconds(2));
        p.lake().start();
        lastRestart = Instant.now();
        double first = p.firstAck(lastRestart, 0); // a restarted process counts from zero
        restartToAck.add(first);
        ChaosScenarios.pause(Duration.ofSeconds(3)); // the next kill after a few normal commits
      }
      double caught = p.caughtUp(lastRestart);
      Set<String> landed = landed(state.getParent(), interrupted);
      List<String> failed = new ArrayList<>();
      if (interrupted.isEmpty()) {
        failed.add("no commit was interrupted");
      }
      String note = String.format(java.util.Locale.ROOT, "kill -9 of the lake role %d times, each the moment a commit's state file"
              + " appeared (commit interval 1 s), restarted after 2 s: %d interrupted commits, %d of them landed in the table before"
              + " the kill (readings redelivered, not rewritten), %d did not (their readings, acked at the hand-off, committed by the"
              + " restarted role's claim; what was not staged yet redelivered and written once);"
              + " restart -> first ack %s s", kills, interrupted.size(), landed.size(), interrupted.size() - landed.size(),
          restartToAck.stream().map(d -> String.format(java.util.Locale.ROOT, "%.1f", d)).toList());
      double firstAck = restartToAck.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
      return LakeChaos.row(name, List.of(p.audit(audit)), firstAck, caught, note, failed);
    }
  }

  /** The table's {@code metadata/iotpipe-state} directory (the table's location is the catalog's choice: found on disk). */
  private static Path stateDir(Path warehouse) throws InterruptedException {
    Path[] found = new Path[1];
    ChaosScenarios.waitFor(Duration.ofSeconds(60), "the lake table's state directory under " + warehouse, () -> {
      if (!Files.isDirectory(warehouse)) {
        return false;
      }
      try (Stream<Path> s = Files.walk(warehouse)) {
        found[0] = s.filter(d -> d.getFileName().toString().equals("iotpipe-state") && Files.isDirectory(d)).findFirst().orElse(null);
        return found[0] != null;
      } catch (IOException | UncheckedIOException e) {
        return false; // files appear and move while the server writes
      }
    });
    return found[0];
  }

  /** The commit ids of every state file written so far (one per commit, under a directory per partition). */
  private static Set<String> commitIds(Path state) {
    Set<String> ids = new HashSet<>();
    try (Stream<Path> s = Files.walk(state)) {
      s.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".json")).forEach(n -> ids.add(n.substring(0, n.length() - 5)));
    } catch (IOException | UncheckedIOException e) {
      // a file moved while listing (the server renames its uploads into place): the next poll sees it
    }
    return ids;
  }

  /**
   * Which of {@code ids} are commits of the table: named in a snapshot summary ({@code iotpipe.commit-id}) of the newest
   * metadata file, which lists every snapshot (nothing is expired within a scenario).
   */
  private static Set<String> landed(Path metadata, List<String> ids) throws IOException {
    Path newest;
    try (Stream<Path> s = Files.list(metadata)) {
      newest = s.filter(f -> f.getFileName().toString().endsWith(".metadata.json"))
          .max(Comparator.comparing(f -> f.getFileName().toString())).orElseThrow(() -> new IllegalStateException("no metadata file in " + metadata));
    }
    String text = Files.readString(newest);
    Set<String> in = new HashSet<>();
    for (String id : ids) {
      if (text.contains(id)) {
        in.add(id);
      }
    }
    return in;
  }
}
