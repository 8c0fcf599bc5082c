package io.iotpipe.core;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class ReasonsTest {

  @Test
  void escapesWhatCouldForgeALineOrHideText() {
    assertThat(Reasons.sanitize("a\nb\r\tc\u0000d\u001be\u007ff\u0085g")).isEqualTo("a\\nb\\r\\tc\\u0000d\\u001Be\\u007Ff\\u0085g");
    assertThat(Reasons.sanitize("x\u2028y\u202Ez\uFEFF")).isEqualTo("x\\u2028y\\u202Ez\\uFEFF");
    assertThat(Reasons.sanitize("lone \uD800 surrogate")).isEqualTo("lone \\uD800 surrogate");
    assertThat(Reasons.sanitize("tag \uDB40\uDC01")).isEqualTo("tag \\uDB40\\uDC01"); // U+E0001, a format character
  }

  @Test
  void keepsOrdinaryTextAsItIs() {
    String s = "seq: must be >= 1, was -3; deviceId: \"Zürich-最\" does not match [A-Za-z0-9._:\\-] 😀";
    assertThat(Reasons.sanitize(s)).isSameAs(s);
    assertThat(Reasons.sanitize(null)).isEqualTo("null");
  }

  @Test
  void cutsWithAnEllipsisNeverInsideAnEscapeOrAPair() {
    assertThat(Reasons.sanitize("abcdef", 6)).isEqualTo("abcdef");
    assertThat(Reasons.sanitize("abcdefg", 6)).isEqualTo("abcde\u2026");
    assertThat(Reasons.sanitize("abc\n", 5)).isEqualTo("abc\\n");
    assertThat(Reasons.sanitize("abc\nd", 5)).isEqualTo("abc\u2026");
    assertThat(Reasons.sanitize("ab\u0000cdef", 6)).isEqualTo("ab\u2026");
    assertThat(Reasons.sanitize("abc😀x", 5)).isEqualTo("abc\u2026");
    assertThat(Reasons.quote("a\nb", 10)).isEqualTo("\"a\\nb\"");
  }

  @Property(tries = 500)
  void outputIsBoundedAndFreeOfControlCharacters(@ForAll String text, @ForAll @IntRange(min = 1, max = 400) int max) {
    String out = Reasons.sanitize(text, max);
    assertThat(out.length()).isLessThanOrEqualTo(max);
    assertThat(out.codePoints()).noneMatch(cp -> Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT
        || Character.getType(cp) == Character.SURROGATE || cp == 0x2028 || cp == 0x2029);
    String full = Reasons.sanitize(text, Integer.MAX_VALUE);
    if (full.length() <= max) {
      assertThat(out).isEqualTo(full);
    } else { // cut: an exact prefix of the escaped text, then the ellipsis
      assertThat(out).endsWith(Reasons.ELLIPSIS);
      assertThat(full).startsWith(out.substring(0, out.length() - Reasons.ELLIPSIS.length()));
    }
  }
}
