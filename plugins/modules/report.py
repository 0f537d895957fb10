#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: report
short_description: Write a Markdown table and a PNG of loss curves for a fleet of char-rnn hosts
description:
  - Writes C(report.md), a table with one row per host (distribution, bootstrap time, time to the first
    checkpoint, the time of the latest re-run, training state, iteration, seconds per batch, losses), and
    C(loss.png), the training and
    validation loss curves of each host drawn from its training log, into O(dest).
  - Meant to run once on the controller (C(delegate_to=localhost), C(run_once=true)) over logs fetched
    from the hosts. It needs nothing beyond the Python standard library.
  - The task reports a change only when a file gets new content.
version_added: 1.0.0
author:
  - rnn_bootstrap maintainers (!UNKNOWN)
options:
  dest:
    description:
      - Directory to write C(report.md) and C(loss.png) into. Created if missing.
    type: path
    required: true
  title:
    description:
      - Heading of the Markdown report.
    type: str
    default: char-rnn training report
  hosts:
    description:
      - One entry per host. Only O(hosts[].name) is required; a missing figure shows as C(-).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Host name.
        type: str
        required: true
      distribution:
        description: Distribution and version.
        type: str
      bootstrap_seconds:
        description:
          - Seconds the host's first bootstrap (packages, Torch, checkout) took. C(site.yml) keeps it on the host,
            so that re-runs report it unchanged.
        type: float
      first_checkpoint_seconds:
        description: Seconds from the start of training to the first checkpoint, on the host's first run.
        type: float
      rerun_seconds:
        description: Seconds a later run of the bootstrap took (the run that writes the report), when it is a re-run.
        type: float
      training:
        description: The RV(rnn_bootstrap.charrnn.checkpoint#module:training) answer of the checkpoint module.
        type: dict
      best_val_loss:
        description: Lowest validation loss of the checkpoints.
        type: float
      log:
        description: A copy of the host's training log on the machine this module runs on.
        type: path
      supervision:
        description:
          - "The RV(rnn_bootstrap.charrnn.checkpoint#module:supervision) answer of the checkpoint module: the column
            C(After a reboot) says whether the run comes back by itself."
        type: dict
      events:
        description:
          - The RV(rnn_bootstrap.charrnn.checkpoint#module:events) answer of the checkpoint module. Starts by
            systemd, stops by a signal or the cloud's notice, and failures are listed with their times under
            C(Restarts and interruptions).
        type: list
        elements: dict
      advice:
        description:
          - The RV(rnn_bootstrap.charrnn.checkpoint#module:advice) answer of the checkpoint module, listed with the
            early stop (from O(hosts[].training)) and RV(rnn_bootstrap.charrnn.checkpoint#module:eta) under
            C(How the runs stand).
        type: list
        elements: dict
      eta:
        description: The RV(rnn_bootstrap.charrnn.checkpoint#module:eta) answer of the checkpoint module.
        type: dict
extends_documentation_fragment:
  - rnn_bootstrap.charrnn.attributes
attributes:
  check_mode:
    support: full
    details: In check mode the report is built but not written.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Report on every host of the play
  rnn_bootstrap.charrnn.report:
    dest: "{{ playbook_dir }}/../artifacts"
    hosts: >-
      {{ ansible_play_hosts | map('extract', hostvars, 'charrnn_report_row') | list }}
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
markdown:
  description: The Markdown report.
  returned: always
  type: str
markdown_path:
  description: Path of C(report.md).
  returned: always
  type: str
png_path:
  description: Path of C(loss.png).
  returned: always
  type: str
curves:
  description: Number of training and validation points drawn per host.
  returned: always
  type: dict
  sample: {box1: {train: 1000, val: 1}}
'''


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._report_manager import ReportManager


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type='path', required=True),
            title=dict(type='str', default='char-rnn training report'),
            hosts=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                distribution=dict(type='str'),
                bootstrap_seconds=dict(type='float'),
                first_checkpoint_seconds=dict(type='float'),
                rerun_seconds=dict(type='float'),
                training=dict(type='dict'),
                best_val_loss=dict(type='float'),
                log=dict(type='path'),
                supervision=dict(type='dict'),
                events=dict(type='list', elements='dict'),
                advice=dict(type='list', elements='dict'),
                eta=dict(type='dict'),
            )),
        ),
        supports_check_mode=True,
    )
    ReportManager(module).run()


if __name__ == '__main__':
    main()
