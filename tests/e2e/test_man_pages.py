#!/usr/bin/python3
"""The man pages (packaging/*.1): mandoc -T lint and man --warnings find
nothing to say, and each page names every option its program's --help
lists, h5swmrfs's in both spellings (--lock-key and lock_key=)."""

import os
import re
import shutil
import subprocess
import unittest

import harness

PACKAGING = os.path.join(harness.SOURCE_ROOT, 'packaging')
PAGES = {
    'h5swmrfs.1': harness.daemon_path,
    'h5swmrfs-ctl.1': harness.ctl_path,
}
# Sections every page has.
SECTIONS = ('NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'EXIT STATUS',
            'ENVIRONMENT', 'FILES', 'EXAMPLES', 'SEE ALSO')


def rendered(page):
    """The page as man shows it, without formatting."""
    result = subprocess.run(['man', '-l', '-P', 'cat', page],
                            capture_output=True, text=True,
                            env=dict(os.environ, MANWIDTH='200',
                                     MAN_KEEP_FORMATTING='0'),
                            check=True)
    # Overstrikes (bold, underline) and the hyphens of man's typesetting.
    text = re.sub(r'.\x08', '', result.stdout)
    return text.replace('\u2010', '-').replace('\u2212', '-')


def long_options(help_text):
    return sorted(set(re.findall(r'(?<![\w-])--[a-z][a-z-]*', help_text)))


class ManPages(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for tool in ('mandoc', 'man'):
            if shutil.which(tool) is None:
                raise RuntimeError(tool + ' is missing (tools/install-deps.sh '
                                   'installs it)')

    def test_mandoc_lint_is_clean(self):
        for page in PAGES:
            with self.subTest(page=page):
                result = subprocess.run(
                    ['mandoc', '-T', 'lint', '-W', 'all',
                     os.path.join(PACKAGING, page)],
                    capture_output=True, text=True)
                self.assertEqual(result.stdout + result.stderr, '')
                self.assertEqual(result.returncode, 0)

    def test_man_warnings_are_none(self):
        for page in PAGES:
            with self.subTest(page=page):
                result = subprocess.run(
                    ['man', '--warnings', '-l', os.path.join(PACKAGING, page)],
                    capture_output=True, text=True,
                    env=dict(os.environ, MANWIDTH='80'))
                self.assertEqual(result.stderr, '')
                self.assertEqual(result.returncode, 0)

    def test_sections(self):
        for page in PAGES:
            text = rendered(os.path.join(PACKAGING, page))
            for section in SECTIONS:
                with self.subTest(page=page, section=section):
                    self.assertRegex(text, r'(?m)^%s$' % section)

    def test_every_option_of_help_is_documented(self):
        for page, program in PAGES.items():
            help_text = subprocess.run([program(), '--help'],
                                       capture_output=True, text=True,
                                       check=True).stdout
            text = rendered(os.path.join(PACKAGING, page))
            options = long_options(help_text)
            self.assertGreater(len(options), 5, help_text)
            for option in options:
                with self.subTest(page=page, option=option):
                    self.assertIn(option, text)

    def test_every_long_option_of_h5swmrfs_has_its_o_spelling(self):
        help_text = subprocess.run([harness.daemon_path(), '--help'],
                                   capture_output=True, text=True,
                                   check=True).stdout
        text = rendered(os.path.join(PACKAGING, 'h5swmrfs.1'))
        for option in long_options(help_text):
            if option in ('--help', '--version'):
                continue
            o_spelling = option[2:].replace('-', '_')
            with self.subTest(option=option):
                self.assertRegex(text, r'-o %s\b' % re.escape(o_spelling))


if __name__ == '__main__':
    unittest.main(verbosity=2)
