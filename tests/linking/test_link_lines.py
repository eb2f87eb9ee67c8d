"""The programs that never touch the database link neither the PostgreSQL
store (libhostca_store_pg.a) nor libpqxx (issue 13): read from the link
lines CMake wrote into build.ninja, so a dependency that creeps back in
through a library fails here, not by chance at run time."""

import os
import re
import sys
import unittest

BUILD_DIR = os.environ.get("HOSTCA_BUILD_DIR", "build")
CLIENT_PROGRAMS = ["ca/hostca-agent", "ca/hostca-admin", "bench/hostca-bench"]
FORBIDDEN = re.compile(r"libhostca_store_pg\.a|libpqxx|-lpqxx|libpq\.|-lpq\b")


def link_lines(ninja_text, output):
    """The build statement of `output` and its LINK_LIBRARIES, as one string."""
    lines = ninja_text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("build %s:" % output):
            block = [line]
            for follow in lines[i + 1:]:
                if not follow.startswith("  "):
                    break
                block.append(follow)
            return "\n".join(block)
    return None


class LinkLinesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(BUILD_DIR, "build.ninja")) as f:
            cls.ninja = f.read()

    def test_client_programs_link_neither_the_postgresql_store_nor_libpqxx(self):
        for program in CLIENT_PROGRAMS:
            with self.subTest(program=program):
                block = link_lines(self.ninja, program)
                self.assertIsNotNone(block, "no link line for %s in build.ninja" % program)
                self.assertIn("LINK_LIBRARIES", block)
                self.assertIsNone(FORBIDDEN.search(block), FORBIDDEN.search(block))

    def test_the_check_sees_the_server_link_the_store(self):
        # The check can fail: the server does link both.
        block = link_lines(self.ninja, "ca/hostca-server")
        self.assertIsNotNone(block)
        self.assertIn("libhostca_store_pg.a", block)
        self.assertIsNotNone(FORBIDDEN.search(block))


if __name__ == "__main__":
    sys.exit(unittest.main())
