# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

# Filters run on the controller: the oldest target Python's test environment has no ansible-core.
pytest.importorskip('ansible.errors')

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.rnn_bootstrap.charrnn.plugins.filter.hmac import hmac_sha256  # noqa: E402


def test_it_gives_the_rfc_4231_digest():
    assert hmac_sha256('what do ya want for nothing?', 'Jefe') == \
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'


@pytest.mark.parametrize('message,key', [('message', ''), ('message', None), (None, 'key')])
def test_it_refuses_an_empty_key_or_a_value_that_is_no_string(message, key):
    with pytest.raises(AnsibleFilterError):
        hmac_sha256(message, key)
