package io.iotpipe.core.envelope;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Many readings in one AMQP message, as the edge forwarder carries them across the WAN ({@code topology.wan.mode:
 * batch}). Each entry keeps the routing key the edge broker verified for its publisher ({@code telemetry.<deviceId>})
 * and the reading's body bytes unchanged, so a sink checks each reading's identity as if it had arrived alone and a
 * dead letter holds the original reading.
 *
 * <p>Format, version 1 (content type {@value #CONTENT_TYPE}; integers big-endian, unsigned):
 * <pre>
 *   magic     4 bytes  "IPB" 0x01 (format version 1)
 *   count     u32      entries that follow (at least 1)
 *   entry     count times:
 *     keyLen      u16      length of the routing key
 *     key         keyLen   the publisher's routing key, UTF-8
 *     publishedAt i64      when the device published, epoch millis (0: unknown)
 *     bodyLen     u32      length of the body
 *     body        bodyLen  the reading exactly as the device sent it
 * </pre>
 * Nothing may follow the last entry. Hand-written rather than a library's: Spring AMQP's {@code SimpleBatchingStrategy}
 * frames bodies the same way but carries no per-entry routing key and would bring spring-amqp in for 100 lines.
 */
public final class ReadingBatch {

  /** The AMQP content type of a batch message. */
  public static final String CONTENT_TYPE = "application/vnd.iotpipe.batch+binary";
  static final byte[] MAGIC = {'I', 'P', 'B', 1};
  /** Bytes an entry adds to its key and body: keyLen, publishedAt, bodyLen. */
  public static final int ENTRY_OVERHEAD = 2 + 8 + 4;
  /** Bytes of the header: magic and count. */
  public static final int HEADER = MAGIC.length + 4;

  /** One reading of a batch: the routing key its publisher used (verified by the edge broker) and its body. */
  public record Entry(String routingKey, long publishedAt, byte[] body) {
    public Entry {
      Objects.requireNonNull(routingKey, "routingKey");
      Objects.requireNonNull(body, "body");
    }

    /** Bytes this entry takes in a batch. */
    public int encodedSize() {
      return ENTRY_OVERHEAD + routingKey.getBytes(StandardCharsets.UTF_8).length + body.length;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Entry e && routingKey.equals(e.routingKey) && publishedAt == e.publishedAt && Arrays.equals(body, e.body);
    }

    @Override
    public int hashCode() {
      return 31 * routingKey.hashCode() + Arrays.hashCode(body) + Long.hashCode(publishedAt);
    }

    @Override
    public String toString() {
      return "Entry[" + routingKey + ", " + body.length + " bytes]";
    }
  }

  /** A batch that cannot be read; the message says what is wrong and where. */
  public static final class FormatException extends IllegalArgumentException {
    FormatException(String message) {
      super(message);
    }
  }

  private ReadingBatch() {}

  /** The batch holding {@code entries}, in order. */
  public static byte[] encode(List<Entry> entries) {
    if (entries.isEmpty()) {
      throw new IllegalArgumentException("a batch holds at least one reading");
    }
    int size = HEADER;
    List<byte[]> keys = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      byte[] key = e.routingKey().getBytes(StandardCharsets.UTF_8);
      if (key.length > 0xFFFF) {
        throw new IllegalArgumentException("routing key longer than 65535 bytes"); // AMQP allows 255: never happens
      }
      keys.add(key);
      size = Math.addExact(size, ENTRY_OVERHEAD + key.length + e.body().length);
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    b.put(MAGIC).putInt(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      b.putShort((short) keys.get(i).length).put(keys.get(i)).putLong(e.publishedAt()).putInt(e.body().length).put(e.body());
    }
    return b.array();
  }

  /** The entries of {@code batch}; a {@link FormatException} naming the first problem when it is not a whole batch. */
  public static List<Entry> decode(byte[] batch) {
    ByteBuffer b = ByteBuffer.wrap(batch);
    if (batch.length < HEADER) {
      throw new FormatException("not an iotpipe batch: " + batch.length + " bytes, shorter than the " + HEADER + "-byte header");
    }
    byte[] magic = new byte[MAGIC.length];
    b.get(magic);
    if (magic[0] != 'I' || magic[1] != 'P' || magic[2] != 'B') {
      throw new FormatException("not an iotpipe batch: it does not start with \"IPB\"");
    }
    if (magic[3] != MAGIC[3]) {
      throw new FormatException("batch format version " + (magic[3] & 0xFF) + " is not supported (this build reads version "
          + MAGIC[3] + "): upgrade the sinks before the forwarders");
    }
    long count = Integer.toUnsignedLong(b.getInt());
    if (count == 0) {
      throw new FormatException("batch holds no reading (count 0)");
    }
    // Each entry takes at least ENTRY_OVERHEAD bytes: a count the rest cannot hold is refused before any allocation.
    if (count > (long) b.remaining() / ENTRY_OVERHEAD) {
      throw new FormatException("batch truncated: it declares " + count + " entries but its " + b.remaining()
          + " remaining bytes hold at most " + b.remaining() / ENTRY_OVERHEAD);
    }
    List<Entry> out = new ArrayList<>((int) count);
    for (int i = 0; i < count; i++) {
      String where = "entry " + (i + 1) + " of " + count;
      need(b, 2, where, "key length");
      int keyLen = Short.toUnsignedInt(b.getShort());
      need(b, keyLen, where, "routing key of " + keyLen + " bytes");
      byte[] key = new byte[keyLen];
      b.get(key);
      String routingKey;
      try {
        routingKey = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(key)).toString();
      } catch (CharacterCodingException e) {
        throw new FormatException("batch " + where + ": routing key is not valid UTF-8");
      }
      need(b, 8, where, "publish time");
      long publishedAt = b.getLong();
      need(b, 4, where, "body length");
      long bodyLen = Integer.toUnsignedLong(b.getInt());
      need(b, bodyLen, where, "body of " + bodyLen + " bytes");
      byte[] body = new byte[(int) bodyLen];
      b.get(body);
      out.add(new Entry(routingKey, publishedAt, body));
    }
    if (b.hasRemaining()) {
      throw new FormatException("batch has " + b.remaining() + " bytes after its last entry (" + count + " entries): not a whole batch");
    }
    return out;
  }

  private static void need(ByteBuffer b, long bytes, String where, String what) {
    if (b.remaining() < bytes) {
      throw new FormatException("batch truncated in " + where + ": the " + what + " needs " + bytes + " bytes, "
          + b.remaining() + " remain");
    }
  }
}
