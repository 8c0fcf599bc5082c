package io.iotpipe.storage;

import io.iotpipe.core.envelope.Telemetry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.TreeMap;

/**
 * A 64-bit fingerprint of what the store keeps of a reading: every column (the device's ts at the store's millisecond
 * precision, ids, status, every metric by name, the kept attributes), not the raw body, so two bodies that differ
 * only in what the store drops (whitespace, field order, dropped unknown fields) are the same reading; not
 * {@code clock_ahead} nor a receive-time {@code ts}, which depend on when a delivery arrived, and the fingerprint could be recomputed from a
 * stored row. SHA-256 from the JDK, truncated: no extra dependency, about a microsecond per reading; 64 bits make an
 * accidental match of two different readings of one key practically impossible (2^-64).
 */
final class Fingerprint {

  private static final ThreadLocal<MessageDigest> SHA = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  });

  private Fingerprint() {}

  static long of(Telemetry t) {
    MessageDigest md = SHA.get();
    md.reset();
    string(md, t.deviceId());
    // the device's time: under contract.futureTimestamps receive-time, ts differs between deliveries of one reading
    md.update(ByteBuffer.allocate(16).putLong(t.seq()).putLong(t.sentTs().toEpochMilli()).array());
    string(md, t.site());
    string(md, t.region());
    string(md, t.status());
    string(md, t.errorCode());
    ByteBuffer num = ByteBuffer.allocate(8);
    for (Map.Entry<String, Double> m : new TreeMap<>(t.metrics()).entrySet()) {
      string(md, m.getKey());
      md.update(num.clear().putLong(Double.doubleToLongBits(m.getValue())).array());
    }
    if (!t.attributes().isEmpty()) {
      // only when there are some: a reading without attributes keeps the fingerprint it had before they existed
      md.update(new byte[] {'A'});
      for (Map.Entry<String, String> a : new TreeMap<>(t.attributes()).entrySet()) {
        string(md, a.getKey());
        string(md, a.getValue());
      }
    }
    return ByteBuffer.wrap(md.digest()).getLong();
  }

  /** Length-prefixed, with null distinct from empty, so field boundaries cannot shift. */
  private static void string(MessageDigest md, String s) {
    if (s == null) {
      md.update(ByteBuffer.allocate(4).putInt(-1).array());
      return;
    }
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    md.update(ByteBuffer.allocate(4).putInt(b.length).array());
    md.update(b);
  }
}
