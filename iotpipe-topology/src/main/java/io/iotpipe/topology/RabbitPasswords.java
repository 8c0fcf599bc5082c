package io.iotpipe.topology;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * RabbitMQ's internal password hashes: {@code base64(salt ++ H(salt ++ utf8(password)))} with a 4-byte salt, H per
 * {@code hashing_algorithm}. Hand-written because no Java library implements the broker's scheme; it lets iotpipe send
 * hashes instead of passwords (definitions, user updates) and check a stored hash against a password file without
 * ever printing either.
 */
public final class RabbitPasswords {

  public static final String SHA256 = "rabbit_password_hashing_sha256";
  private static final SecureRandom RANDOM = new SecureRandom();

  private RabbitPasswords() {}

  /** A fresh salted {@code rabbit_password_hashing_sha256} hash of {@code password}. */
  public static String hash(String password) {
    byte[] salt = new byte[4];
    RANDOM.nextBytes(salt);
    return Base64.getEncoder().encodeToString(salted(salt, password, "SHA-256"));
  }

  /** Whether {@code storedHash} (as the management API lists it) is a hash of {@code password}. */
  public static boolean matches(String password, String storedHash, String algorithm) {
    if (password == null || storedHash == null || storedHash.isEmpty()) {
      return false;
    }
    String digest = switch (algorithm == null ? SHA256 : algorithm) {
      case SHA256 -> "SHA-256";
      case "rabbit_password_hashing_sha512" -> "SHA-512";
      case "rabbit_password_hashing_md5" -> "MD5";
      default -> null;
    };
    if (digest == null) {
      return false;
    }
    byte[] stored;
    try {
      stored = Base64.getDecoder().decode(storedHash);
    } catch (IllegalArgumentException e) {
      return false;
    }
    if (stored.length < 5) {
      return false;
    }
    byte[] salt = java.util.Arrays.copyOf(stored, 4);
    return MessageDigest.isEqual(stored, salted(salt, password, digest));
  }

  private static byte[] salted(byte[] salt, String password, String digest) {
    try {
      MessageDigest md = MessageDigest.getInstance(digest);
      md.update(salt);
      byte[] h = md.digest(password.getBytes(StandardCharsets.UTF_8));
      byte[] out = new byte[salt.length + h.length];
      System.arraycopy(salt, 0, out, 0, salt.length);
      System.arraycopy(h, 0, out, salt.length, h.length);
      return out;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
