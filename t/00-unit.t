#!/bin/sh
# Unit tests of the arena, escaping, UTF-8, parsers, router, config and
# the template engine, written in C (src/cmd_test.c), and of the payment
# state machine on a throwaway database migrated from the tree's sql/
# (src/cmd_test_payment.c).
exec "${PX_BIN:?PX_BIN is not set}" test-unit "${PX_SRC:?PX_SRC is not set}/sql"
