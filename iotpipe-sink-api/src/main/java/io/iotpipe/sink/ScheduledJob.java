package io.iotpipe.sink;

import java.time.Duration;

/**
 * Upkeep a sink asks the runtime to run on a schedule (see {@link SinkPlugin#jobs}).
 *
 * @param name  for logs and the {@code iotpipe.job.failures} metric, e.g. {@code storage-housekeeping}
 * @param first delay before the first run (a store that was down catches up soon after start)
 * @param every delay between the end of one run and the start of the next
 * @param task  the work; an exception is logged and counted and the next run happens as scheduled
 */
public record ScheduledJob(String name, Duration first, Duration every, Task task) {

  /** One run of a job; may throw, the runtime logs and retries next round. */
  @FunctionalInterface
  public interface Task {
    void run() throws Exception;
  }
}
