/* Unit tests for labs/11-pubsub/glob: Redis's PSUBSCRIBE pattern semantics. */
#include <criterion/criterion.h>
#include <string.h>

#include "labs/11-pubsub/glob.h"

static int m(const char *p, const char *s)
{
    return glob_match(p, strlen(p), s, strlen(s));
}

Test(glob, literals_and_question_mark)
{
    cr_assert(m("news", "news"));
    cr_assert(!m("news", "new"));
    cr_assert(!m("new", "news"));
    cr_assert(m("n?ws", "news"));
    cr_assert(!m("n?ws", "nws"));
    cr_assert(m("", ""));
    cr_assert(!m("", "a"));
}

Test(glob, stars)
{
    cr_assert(m("*", ""));
    cr_assert(m("*", "anything"));
    cr_assert(m("n*", "news"));
    cr_assert(m("n*s", "news"));
    cr_assert(m("*s", "news"));
    cr_assert(!m("*x", "news"));
    cr_assert(m("a*b*c", "aXXbYYc"));
    cr_assert(!m("a*b*c", "aXXbYY"));
    cr_assert(m("***a", "a"));
    cr_assert(m("a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
    cr_assert(!m("a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

Test(glob, bracket_sets)
{
    cr_assert(m("[abc]x", "bx"));
    cr_assert(!m("[abc]x", "dx"));
    cr_assert(m("[^abc]x", "dx"));
    cr_assert(!m("[^abc]x", "ax"));
    cr_assert(m("h[a-e]llo", "hello"));
    cr_assert(!m("h[a-e]llo", "hxllo"));
    cr_assert(m("h[e-a]llo", "hello"), "reversed ranges work as in Redis");
    cr_assert(m("[\\]]", "]"));
    cr_assert(m("[abc", "a"), "an unterminated set ends at the end of the pattern");
}

Test(glob, escapes)
{
    cr_assert(m("h\\*llo", "h*llo"));
    cr_assert(!m("h\\*llo", "hello"));
    cr_assert(m("a\\?", "a?"));
    cr_assert(!m("a\\?", "ab"));
    cr_assert(m("ab\\", "ab\\"), "a trailing backslash is literal");
}

Test(glob, binary_safe)
{
    cr_assert(glob_match("a\0*", 3, "a\0zz", 4));
    cr_assert(!glob_match("a\0*", 3, "a\1zz", 4));
}
