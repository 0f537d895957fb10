# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""The hmac_sha256 filter (documented in hmac_sha256.yml)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import hmac

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes


def hmac_sha256(message, key):
    """HMAC-SHA256 of message under key, in hexadecimal."""
    if not isinstance(message, str) or not isinstance(key, str):
        raise AnsibleFilterError('hmac_sha256 takes a string and a string key')
    if not key:
        raise AnsibleFilterError('hmac_sha256 needs a non-empty key')
    return hmac.new(to_bytes(key), to_bytes(message), hashlib.sha256).hexdigest()


class FilterModule(object):
    def filters(self):
        return {'hmac_sha256': hmac_sha256}
