package io.iotpipe.storage;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Deletes whole day partitions ({@code date=YYYY-MM-DD}) whose last hour is older than the retention. */
public final class Retention {

  private Retention() {}

  /** Drops what is older than {@code keep}; waits while another process compacts or drops. */
  public static List<String> apply(Path store, Duration keep, Clock clock) throws IOException {
    try (StoreLock lock = StoreLock.acquire(store, true)) {
      return applyLocked(store, keep, clock);
    }
  }

  /** As {@link #apply}, for a caller that holds the {@link StoreLock}. */
  static List<String> applyLocked(Path store, Duration keep, Clock clock) throws IOException {
    List<String> dropped = new ArrayList<>();
    if (!Files.isDirectory(store)) {
      return dropped;
    }
    LocalDate oldestKept = clock.instant().minus(keep).atZone(ZoneOffset.UTC).toLocalDate();
    CommitLog.checkpointNow(store);
    // A day holding files of a commit not yet folded into a checkpoint waits for a later round (see Compactor).
    java.util.Set<Path> unfolded = CommitLog.unfoldedFiles(store);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(store, "date=*")) {
      for (Path day : ds) {
        LocalDate d = LocalDate.parse(day.getFileName().toString().substring(5));
        Path dayAbs = day.toAbsolutePath().normalize();
        if (d.isBefore(oldestKept) && unfolded.stream().noneMatch(f -> f.startsWith(dayAbs))) {
          try (var walk = Files.walk(day)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
              Files.deleteIfExists(p);
            }
          }
          dropped.add(day.getFileName().toString());
        }
      }
    }
    return dropped;
  }
}
