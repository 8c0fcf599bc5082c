package io.iotpipe.core.config;

import java.nio.file.Path;

/**
 * The {@code security:} section: iotpipe's broker users and permissions, declared like the rest of the topology
 * ({@code topology plan} shows them, {@code topology apply} makes them true). Absent section = nothing about users is
 * declared or checked (the plain, insecure mode behaves as before).
 *
 * @param declared        whether the section is present
 * @param passwords       directory of the accounts' password files ({@code <account>.password}, mode 0600); apply
 *                        writes a random one for an account that has none. Passwords are never printed: a plan
 *                        compares the broker's stored hash with the file.
 * @param existingUsers   what apply does with a declared account that exists with other tags, password or
 *                        permissions: {@code update} it to the declaration (a broader grant is narrowed), or
 *                        {@code refuse}: report a conflict and change nothing anywhere
 * @param removeGuest     delete the {@code guest} user on every broker
 * @param devicePermissions check every enrolled device (users tagged {@code iotpipe-device}) on the edges against
 *                        the device permission template, and repair drift
 * @param certificates    directory of the service accounts' client certificates ({@code <account>.crt|.key}): the
 *                        shovels present the shovel account's where a destination URI asks for a client certificate
 */
public record SecurityConfig(boolean declared, Path passwords, ExistingUsers existingUsers, boolean removeGuest,
                             boolean devicePermissions, Path certificates) {

  public enum ExistingUsers { UPDATE, REFUSE }

  public static final Path DEFAULT_PASSWORDS = Path.of("pki", "passwords");
  public static final Path DEFAULT_CERTIFICATES = Path.of("pki", "clients");
  public static final SecurityConfig NONE = new SecurityConfig(false, DEFAULT_PASSWORDS, ExistingUsers.UPDATE, false, false,
      DEFAULT_CERTIFICATES);

  /** Reads the section (every key also when absent, so the config reference lists them); {@code present}: the key exists. */
  static SecurityConfig read(ConfigNode c, boolean present) {
    Path passwords = c.path("passwords", DEFAULT_PASSWORDS);
    ExistingUsers existing = c.enumValue("existingUsers", ExistingUsers.class, ExistingUsers.UPDATE);
    boolean removeGuest = c.bool("removeGuest", true);
    boolean devices = c.bool("devicePermissions", true);
    Path certificates = c.path("certificates", DEFAULT_CERTIFICATES);
    c.finish();
    return !present ? NONE : new SecurityConfig(true, passwords, existing, removeGuest, devices, certificates);
  }

  /** The client certificate and key of {@code account} ({@code [cert, key]}). */
  public Path[] certificate(String account) {
    return new Path[] {certificates.resolve(account + ".crt"), certificates.resolve(account + ".key")};
  }

  /** The password file of {@code account}. */
  public Path passwordFile(String account) {
    return passwords.resolve(account + ".password");
  }
}
