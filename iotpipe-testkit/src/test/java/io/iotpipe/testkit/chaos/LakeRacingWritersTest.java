package io.iotpipe.testkit.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How {@code lake-racing-writers} reads who committed what from the table's newest metadata file: snapshots in commit
 * order (sequence numbers, not the file's order), the writer from the source partition in each summary.
 */
class LakeRacingWritersTest {

  @TempDir
  Path warehouse;

  @Test
  void theHistoryCountsEachWritersSnapshotsAndHowOftenTheyAlternate() throws Exception {
    Path metadata = Files.createDirectories(warehouse.resolve("iotpipe/telemetry/metadata"));
    // an older metadata file that would say otherwise: only the newest is read
    Files.writeString(metadata.resolve("00001-aa.metadata.json"), "{\"snapshots\":[]}");
    Files.writeString(metadata.resolve("00004-bb.metadata.json"), """
        {"snapshots":[
          {"sequence-number":3,"summary":{"iotpipe.partitions":"[\\"xaaaaaa.lake.p1\\",\\"xaaaaaa.lake.p3\\"]"}},
          {"sequence-number":1,"summary":{"iotpipe.partition":"xaaaaaa.lake.p0"}},
          {"sequence-number":2,"summary":{"iotpipe.partitions":"[\\"xbbbbbb.lake.p0\\"]"}},
          {"sequence-number":4,"summary":{"iotpipe.partition":"xaaaaaa.lake.p2"}},
          {"sequence-number":5,"summary":{"operation":"replace"}}
        ]}
        """);
    LakeRacingWriters.History h = LakeRacingWriters.history(warehouse, "xaaaaaa", "xbbbbbb");
    // in commit order: A, B, A, A (snapshots of today's sink name their partitions in an array, older ones one
    // partition; the compaction's snapshot names none)
    assertThat(h).isEqualTo(new LakeRacingWriters.History(3, 1, 2));
  }
}
