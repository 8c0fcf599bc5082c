package io.iotpipe.core.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** The WAN batch format: what the forwarder writes the sinks read back exactly; anything else is a clean error. */
class ReadingBatchTest {

  @Provide
  Arbitrary<List<ReadingBatch.Entry>> batches() {
    Arbitrary<String> keys = Arbitraries.strings().ofMinLength(0).ofMaxLength(60)
        .map(s -> "telemetry." + s);
    Arbitrary<byte[]> bodies = Arbitraries.bytes().array(byte[].class).ofMaxSize(300);
    Arbitrary<Long> times = Arbitraries.longs();
    return Combinators.combine(keys, times, bodies).as(ReadingBatch.Entry::new).list().ofMinSize(1).ofMaxSize(40);
  }

  @Property(tries = 500)
  void roundTripKeepsEveryEntryItsKeyAndItsBytesInOrder(@ForAll("batches") List<ReadingBatch.Entry> entries) {
    byte[] batch = ReadingBatch.encode(entries);
    assertThat(ReadingBatch.decode(batch)).containsExactlyElementsOf(entries);
    assertThat(batch.length).isEqualTo(ReadingBatch.HEADER + entries.stream().mapToInt(ReadingBatch.Entry::encodedSize).sum());
  }

  @Property(tries = 500)
  void everyTruncationIsAnErrorNamingTruncation(@ForAll("batches") List<ReadingBatch.Entry> entries,
                                                @ForAll @IntRange(min = 1, max = 100_000) int cut) {
    byte[] batch = ReadingBatch.encode(entries);
    byte[] truncated = Arrays.copyOf(batch, Math.max(0, batch.length - 1 - cut % batch.length));
    Throwable t = catchThrowable(() -> ReadingBatch.decode(truncated));
    assertThat(t).isInstanceOf(ReadingBatch.FormatException.class);
    assertThat(t.getMessage()).containsAnyOf("truncated", "shorter than the");
  }

  @Property(tries = 300)
  void trailingBytesAreRefused(@ForAll("batches") List<ReadingBatch.Entry> entries, @ForAll @Size(min = 1, max = 20) byte[] tail) {
    byte[] batch = ReadingBatch.encode(entries);
    byte[] longer = Arrays.copyOf(batch, batch.length + tail.length);
    System.arraycopy(tail, 0, longer, batch.length, tail.length);
    assertThatThrownBy(() -> ReadingBatch.decode(longer)).isInstanceOf(ReadingBatch.FormatException.class)
        .hasMessageContaining("after its last entry");
  }

  /** Garbage never escapes as anything but a FormatException (no OutOfMemory from a forged count, no index error). */
  @Property(tries = 3000)
  void garbageIsACleanErrorOrABatch(@ForAll @Size(max = 200) byte[] garbage, @ForAll boolean withMagic) {
    byte[] input = garbage;
    if (withMagic) {
      input = new byte[garbage.length + 4];
      System.arraycopy(ReadingBatch.MAGIC, 0, input, 0, 4);
      System.arraycopy(garbage, 0, input, 4, garbage.length);
    }
    byte[] in = input;
    Throwable t = catchThrowable(() -> ReadingBatch.decode(in));
    if (t != null) {
      assertThat(t).isInstanceOf(ReadingBatch.FormatException.class);
      assertThat(t.getMessage()).isNotBlank().hasSizeLessThan(300);
    }
  }

  @Test
  void errorsNameWhatIsWrong() {
    assertThatThrownBy(() -> ReadingBatch.decode("{\"deviceId\":\"a\"}".getBytes(StandardCharsets.UTF_8)))
        .hasMessage("not an iotpipe batch: it does not start with \"IPB\"");
    assertThatThrownBy(() -> ReadingBatch.decode(new byte[] {'I', 'P', 'B', 2, 0, 0, 0, 1}))
        .hasMessageContaining("batch format version 2 is not supported");
    assertThatThrownBy(() -> ReadingBatch.decode(new byte[] {'I', 'P', 'B', 1, 0, 0, 0, 0}))
        .hasMessage("batch holds no reading (count 0)");
    assertThatThrownBy(() -> ReadingBatch.decode(new byte[] {'I', 'P', 'B', 1, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0, 0}))
        .hasMessageContaining("declares 4294967295 entries");
    byte[] one = ReadingBatch.encode(List.of(new ReadingBatch.Entry("telemetry.a", 1, new byte[] {1, 2, 3})));
    assertThatThrownBy(() -> ReadingBatch.decode(Arrays.copyOf(one, one.length - 1)))
        .hasMessage("batch truncated in entry 1 of 1: the body of 3 bytes needs 3 bytes, 2 remain");
    byte[] badKey = one.clone();
    badKey[ReadingBatch.HEADER + 2] = (byte) 0xFF;
    assertThatThrownBy(() -> ReadingBatch.decode(badKey)).hasMessage("batch entry 1 of 1: routing key is not valid UTF-8");
  }
}
