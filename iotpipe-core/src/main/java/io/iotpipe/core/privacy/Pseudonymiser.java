package io.iotpipe.core.privacy;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.function.Function;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Replaces an identifier by a keyed hash (HMAC-SHA256), the technique ENISA recommends for identifiers that must stay
 * joinable: the same device always gets the same pseudonym (data scientists can group and join), but without the
 * key nobody can map a pseudonym back by hashing every plausible device id, as they could with a plain hash.
 *
 * <p>Rotating the key changes every pseudonym: rows written before and after the rotation no longer join on the
 * device column. The key never leaves this object: {@link #toString()} shows only where it came from.
 */
public final class Pseudonymiser {

  /** Default environment variable holding the key. */
  public static final String KEY_ENV = "IOTPIPE_PSEUDONYM_KEY";
  /** Shorter keys are refused: a guessable key makes pseudonyms reversible by enumeration again. */
  public static final int MIN_KEY_BYTES = 32;

  private final SecretKeySpec key;
  private final String source;
  private final ThreadLocal<Mac> mac;

  public Pseudonymiser(byte[] key, String source) {
    if (key == null || key.length < MIN_KEY_BYTES) {
      throw new IllegalArgumentException("the pseudonymisation key from " + source + " must be at least " + MIN_KEY_BYTES
          + " bytes (generate one with: openssl rand -base64 48)");
    }
    this.key = new SecretKeySpec(key.clone(), "HmacSHA256");
    this.source = source;
    this.mac = ThreadLocal.withInitial(this::newMac);
  }

  /** The key from environment variable {@code name} (its UTF-8 bytes; e.g. the output of {@code openssl rand -base64 48}). */
  public static Pseudonymiser fromEnvironment(Function<String, String> env, String name) {
    String v = env.apply(name);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("pseudonymisation needs a secret key: set environment variable " + name
          + " (at least " + MIN_KEY_BYTES + " bytes, e.g. openssl rand -base64 48) and keep it apart from the data");
    }
    return new Pseudonymiser(v.strip().getBytes(StandardCharsets.UTF_8), "$" + name);
  }

  private Mac newMac() {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(key);
      return m;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable in this JVM", e);
    }
  }

  /**
   * The pseudonym of {@code deviceId}: {@code "p-"} and 128 bits of the HMAC in hex (34 characters, safe in file
   * names, index keys and routing keys; 128 bits make collisions in any real fleet practically impossible).
   */
  public String pseudonym(String deviceId) {
    byte[] h = mac.get().doFinal(deviceId.getBytes(StandardCharsets.UTF_8));
    return "p-" + HexFormat.of().formatHex(h, 0, 16);
  }

  @Override
  public String toString() {
    return "Pseudonymiser[HMAC-SHA256, key ****(" + source + ")]";
  }
}
