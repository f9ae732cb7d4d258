#!/bin/sh
# Unit tests of the arena, escaping, UTF-8, parsers, router, config and
# the template engine, written in C (src/cmd_test.c).
exec "${PX_BIN:?PX_BIN is not set}" test-unit
