package io.iotpipe.storage;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The seam of the commit protocol: called right before each step touches the disk, so tests can make any step fail
 * (throw an {@link IOException}) or stop there as a crash would (throw an {@link Error} that no cleanup code catches).
 * Production uses {@link #NONE}.
 */
public interface CommitSteps {

  /** The steps of one commit, in order, plus the upkeep that also changes files. */
  enum Step {
    /** a data file written under its hidden temp name */
    WRITE_TEMP,
    /** that temp file fsynced */
    FSYNC_TEMP,
    /** the commit record written (and fsynced) under a temp name */
    WRITE_RECORD,
    /** the record linked as {@code commit-N.json}: the commit point */
    LINK_RECORD,
    /** the log directory fsynced (the record's name is durable) */
    FSYNC_LOG_DIR,
    /** a temp file renamed to its final name (once per file) */
    RENAME,
    /** the data directories fsynced (the renames are durable) */
    FSYNC_DATA_DIR,
    /** checkpoints, orphan sweeps, deletes of uncommitted temp files: never on the acked-data path */
    UPKEEP
  }

  CommitSteps NONE = (step, path) -> {};

  void before(Step step, Path path) throws IOException;
}
