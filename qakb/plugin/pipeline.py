"""The whole pipeline under plain mkdocs commands: `mkdocs build`, `mkdocs serve`, `mkdocs gh-deploy`.

`qakb build` runs the pipeline (`qakb.build`) and then mkdocs, handing the plugin its session: the
plugin then only adds what the pipeline staged. Run by mkdocs alone, the plugin runs the same steps
itself, in mkdocs' events, with the same caches, log lines, build lock and nothing-lost check:

    on_config       the site is redirected into the staging folder (`qakb.build.staged_site_dir`):
                    mkdocs writes it there, not over the last site
    on_pre_build    the build lock is taken and `qakb.build.stage` reads the banks, embeds, places
                    the questions and writes the index, pages and deck into the staging folder;
                    mkdocs has not emptied site_dir yet, so a bad bank changes nothing
    (mkdocs builds the site from them)
    on_post_build   last: the nothing-lost check, then the index, pages and site are swapped into
                    place and the anchor record is written (`qakb.build.put_in_place`); the lock is let go
    on_build_error  the lock is let go; nothing in place has changed

So the result is atomic as `qakb build`'s is: a failure anywhere, a bank's mistake in on_pre_build
or a broken link in a hand-written page, leaves the previous site/, search_index/ and build/pages/
as they were. mkdocs checks `--strict` after the last on_post_build: the swap first reads the
warnings mkdocs counted for it and refuses, with the same outcome, when there are any.

`mkdocs serve` builds into a temporary folder it serves: the site is not staged there (a failed
rebuild still stops before mkdocs empties it, and the last site stays served), while the index and
pages are staged and swapped into place as in a build. mkdocs keeps a plugin that has an on_startup
hook for the whole `mkdocs serve`, so its rebuilds share one `qakb.session.BuildSession`, as
`qakb serve --watch`'s do. The plugin watches the bank folder; a rebuild whose inputs are those of
the last build (`qakb.watch.inputs_hash`: the build's own write of content/anchors.json woke it)
runs no pipeline and takes the pages and index already in place.
"""

from __future__ import annotations

import logging
import shutil
from contextlib import ExitStack
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.utils import CountHandler

from qakb.config import Settings
from qakb.session import BuildSession

LOGGER = "mkdocs.plugins.qakb"


def pipeline_errors() -> tuple[type[Exception], ...]:
    """What the pipeline raises for a mistake in the project (shown as `file:line: what`), not a bug."""
    from qakb.build import BuildError
    from qakb.engine import SearchIndexError
    from qakb.parse import ParseError

    return ParseError, BuildError, SearchIndexError, ValueError


def strict_warnings(config) -> int:
    """The warnings mkdocs counted in this build for `--strict` (it fails the build with them after
    the last on_post_build): its counter is a `CountHandler` on the `mkdocs` logger while it builds."""
    if not config.strict:
        return 0
    return sum(sum(handler.counts.values()) for handler in logging.getLogger("mkdocs").handlers
               if type(handler) is CountHandler)


class OwnBuild:
    """One build of the pipeline run by the plugin (the module's docstring), made in on_config."""

    def __init__(self, settings: Settings, config, session: BuildSession, serving: bool, last_inputs: str | None):
        """`serving`: under `mkdocs serve`, whose site is not staged; `last_inputs`: the inputs' hash of
        the last build in this `mkdocs serve`, if it succeeded."""
        from qakb.build import staged_site_dir
        from qakb.watch import inputs_hash

        self.settings, self.session = settings, session
        self.log = logging.getLogger(LOGGER).info
        self.inputs = inputs_hash(settings) if serving else None
        self.unchanged = serving and self.inputs == last_inputs
        self.held = ExitStack()
        self.staged = None
        self.config = config
        self.given_site_dir = config.site_dir
        self.site_dir = None if serving else staged_site_dir(settings)
        if self.site_dir is not None:
            config.site_dir = str(self.site_dir)

    def run(self) -> tuple[Path, Path]:
        """The pipeline up to mkdocs, under the build lock; the pages and index folders mkdocs is to use."""
        from qakb.build import build_lock, stage, step_logger

        try:
            lock = self.held.enter_context(build_lock(self.settings))
            if self.unchanged:
                self.log("the bank, the pages and mkdocs.yml are as the last build left them: its pages and "
                         "index are used")
                return self.settings.pages_dir, self.settings.index_dir
            if self.site_dir is not None:
                shutil.rmtree(self.site_dir, ignore_errors=True)
            self.step = step_logger(self.log)
            self.staged = stage(self.settings, self.log, self.step, self.session, lock)
        except pipeline_errors() as error:
            raise PluginError(str(error)) from None
        return self.staged.pages_dir, self.staged.index_dir

    def finish(self) -> None:
        """After mkdocs wrote the site: check it, swap everything into place, let go of the lock."""
        from qakb.build import BuildError, check_nothing_lost, put_in_place

        try:
            if self.staged is None:
                return
            warnings = strict_warnings(self.config)
            if warnings:
                raise PluginError(f"{warnings} warning(s) in strict mode: the site, the index and the pages "
                                  "stay as they were")
            site_dir = Path(self.config.site_dir)
            try:
                check_nothing_lost(self.staged.questions, self.staged.url_of, self.staged.index_dir, site_dir,
                                   self.session)
            except BuildError as error:
                raise PluginError(str(error)) from None
            self.step("built the site with mkdocs; every item is in the site and the index once")
            put_in_place(self.settings, self.staged, self.session, self.step, self.site_dir)
        finally:
            self.end()

    def end(self) -> None:
        """Point mkdocs back at the site folder it was given (`mkdocs gh-deploy` pushes it), let go of the lock."""
        self.config.site_dir = self.given_site_dir
        self.held.close()
