#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: checkpoint
short_description: Report char-rnn checkpoints and training progress, optionally waiting for a checkpoint
description:
  - Lists the checkpoints C(lm_<savefile>_epoch<epoch>_<val_loss>.t7) that char-rnn's train.lua wrote in a
    checkpoint directory, ordered by when they were written (modification time, then epoch; a run resumed
    with C(-init_from) restarts char-rnn's epoch count, and the names do not sort as text).
  - A checkpoint still being written is reported under RV(in_progress), never as RV(latest) or RV(best). A
    checkpoint is complete when the training log shows a later line after its C(saving checkpoint to) line,
    or the trainer no longer runs and its size is stable, or (when the log does not mention it) it has not
    changed for a few seconds.
  - Reports the training progress parsed from the log of the run started by M(rnn_bootstrap.charrnn.train).
  - With O(wait), polls like M(ansible.builtin.wait_for) until the awaited checkpoint is complete. When the
    training session has ended without producing it (a crash, a NaN loss, too little data, the end of
    training) the task fails at once with the last 20 lines of the log, not at the timeout.
  - Never changes anything.
version_added: 1.0.0
author:
  - rnn_bootstrap maintainers (!UNKNOWN)
options:
  checkpoint_dir:
    description:
      - The checkpoint directory. A relative path is relative to O(chdir).
    type: path
    required: true
  chdir:
    description:
      - The char-rnn checkout that relative O(checkpoint_dir), O(log_path) and O(newer_than) are relative to.
  savefile:
    description:
      - The C(savefile) of the run (train.lua's C(-savefile)); only its checkpoints are reported.
  wait:
    description:
      - V(none) reports at once.
      - V(first) waits until at least one complete checkpoint exists.
      - V(new) waits for a complete checkpoint written after O(newer_than).
    type: str
    choices: [none, first, new]
    default: none
  newer_than:
    description:
      - For O(wait=new), the checkpoint to wait past. Default the latest complete checkpoint present when the
        task starts.
    type: path
  timeout:
    description:
      - Seconds to wait at most. V(0) looks once.
    type: int
    default: 600
  timeout_hint:
    description:
      - What the message of a wait that timed out tells the user to change, in the caller's own terms. A role
        that fills O(timeout) and the training options from its variables names those variables here.
      - Without it, the message says C(Raise timeout, or lower eval_val_every in the training options.)
    type: str
  sleep:
    description:
      - Seconds between looks.
    type: float
    default: 5
  hourly_price:
    description:
      - What an hour of the machine costs, in the currency of your choice. There is no default; without it the
        result leaves the cost out. RV(eta) then says what the run has cost so far and what it costs to its end.
    type: float
  progress:
    description:
      - With O(wait=first) or O(wait=new), wait from the controller and print a progress line every
        O(progress.interval) seconds, at the default verbosity, until the checkpoint is there, the trainer has
        ended (the task fails at once, with the log tail) or O(timeout) has passed. The line names the host,
        the savefile, the seconds since O(progress.since), and the run's iteration, epoch, train loss, seconds
        per batch and ETA. With C(-v) the result of every look shows too.
      - Omitted, the task waits on the host and prints nothing until it ends.
      - In check mode the task waits on the host, in one look of what is left of O(timeout), without progress
        lines.
    type: dict
    version_added: 1.1.0
    suboptions:
      interval:
        description:
          - Seconds between progress lines, at least V(1). Each look lasts this long at most; the time it takes
            to run the module on the host comes on top.
        type: int
        required: true
      since:
        description:
          - When the wait counts from, in seconds since the epoch on the controller (what
            C(now(utc=true\).timestamp(\)) gives), for example when training started. O(timeout) counts from
            it too.
          - Default when the task starts.
        type: float
extends_documentation_fragment:
  - rnn_bootstrap.charrnn.attributes
  - rnn_bootstrap.charrnn.training_run
  - rnn_bootstrap.charrnn.training_run.savefile
attributes:
  check_mode:
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
notes:
  - A module cannot print while it runs; O(progress) makes the collection's action plugin wait from the
    controller instead, in looks of O(progress.interval) seconds, and print a line after each.
seealso:
  - module: rnn_bootstrap.charrnn.train
  - module: rnn_bootstrap.charrnn.sample
  - module: ansible.builtin.wait_for
'''

EXAMPLES = r'''
- name: List the checkpoints and the training progress
  rnn_bootstrap.charrnn.checkpoint:
    checkpoint_dir: /opt/rnn-karpathy/cv
  register: ckpt

- name: Wait up to an hour for the first checkpoint
  rnn_bootstrap.charrnn.checkpoint:
    checkpoint_dir: cv
    wait: first
    timeout: 3600
    sleep: 10

- name: Wait up to an hour for the first checkpoint of a run started at train_started, a line every 30s
  rnn_bootstrap.charrnn.checkpoint:
    checkpoint_dir: cv
    wait: first
    timeout: 3600
    progress:
      interval: 30
      since: "{{ train_started }}"

- name: Wait for the next checkpoint in one-minute steps (each timed-out step is retried)
  rnn_bootstrap.charrnn.checkpoint:
    checkpoint_dir: cv
    wait: new
    newer_than: "{{ ckpt.latest.path }}"
    timeout: 60
  register: next_ckpt
  until: not (next_ckpt.timed_out | default(false))
  retries: 60
  delay: 0
  when: ckpt.latest is not none
'''

RETURN = r'''
checkpoints:
  description: Complete checkpoints of the savefile, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Absolute path.
      type: str
    name:
      description: File name.
      type: str
    epoch:
      description: Epoch from the name.
      type: float
    val_loss:
      description: Validation loss from the name; null when it is not finite (nan, inf).
      type: float
    val_loss_text:
      description: Validation loss as written in the name.
      type: str
    size:
      description: Size in bytes.
      type: int
    mtime:
      description: Modification time (seconds since the epoch).
      type: float
  sample:
    - path: /opt/rnn-karpathy/cv/lm_lstm_epoch0.95_1.9512.t7
      name: lm_lstm_epoch0.95_1.9512.t7
      epoch: 0.95
      val_loss: 1.9512
      val_loss_text: "1.9512"
      size: 3395124
      mtime: 1732900000.5
in_progress:
  description:
    - Checkpoints still being written, or left unfinished by a trainer that was stopped or died while
      writing them (same keys as RV(checkpoints)). The next M(rnn_bootstrap.charrnn.train) start renames
      the latter C(<name>.incomplete).
  returned: always
  type: list
  elements: dict
latest:
  description: The most recently written complete checkpoint, or null.
  returned: always
  type: dict
best:
  description: The complete checkpoint with the lowest finite validation loss, or null.
  returned: always
  type: dict
found:
  description: The checkpoint the wait ended on (O(wait=first) or O(wait=new)), or null.
  returned: always
  type: dict
newer_than:
  description: The reference checkpoint path for O(wait=new).
  returned: when O(wait=new)
  type: str
elapsed:
  description: Seconds the task waited.
  returned: always
  type: float
  sample: 12.3
timed_out:
  description: Whether the wait ended at the timeout (the task then fails).
  returned: always
  type: bool
supervision:
  description:
    - Whether the run comes back by itself after a restart of the host (see the train module's
      O(rnn_bootstrap.charrnn.train#module:supervision)).
    - C(comes_back_after_reboot), and C(reason) when it does not (no systemd manager, no unit, the unit disabled
      by a stop, or given up after too many failed restarts); with a unit, also C(active_state), C(sub_state),
      C(result), C(enabled), C(restarts) (automatic restarts since it was last started) and C(exit_status).
  returned: always
  type: dict
  sample: {unit: charrnn-train-charrnn.service, installed: true, comes_back_after_reboot: true, reason: null,
           active_state: active, sub_state: running, result: success, enabled: true, restarts: 0, exit_status: 0}
events:
  description:
    - The last starts, stops and ends of the run's trainers, oldest first, with their local times (C(at)) and who
      caused them (C(by)) - the train module, or systemd at boot or after a failure; an end has the trainer's
      C(exit_status), C(phase) and C(iteration), and C(stopped_on) or C(interruption) when a signal or the
      cloud's notice stopped it.
  returned: always
  type: list
  elements: dict
  sample: [{event: started, at: '2026-12-07T09:00:01+0000', by: the train module, pid: 4242}]
training:
  description: The training run, from the screen session, the trainer pid and the log's current run.
  returned: always
  type: dict
  contains:
    running:
      description: Whether the session (or the trainer) is alive.
      type: bool
    session:
      description: The screen session name.
      type: str
    session_alive:
      description: Whether the screen session is alive.
      type: bool
    pid:
      description: The trainer's pid when it runs and is known.
      type: int
    status:
      description:
        - V(not_started), V(starting), V(training), V(evaluating), V(saving) while it runs;
          V(finished), V(stopped), V(nan), V(exploding), V(error), V(ended_without_training) after.
      type: str
    iteration:
      description:
        - Last logged iteration, counted on from the checkpoint a resumed run continues (with
          O(rnn_bootstrap.charrnn.train#module:precision=float), whose prelude logs that count), so that it
          goes on across stops, reboots and restarts.
      type: int
    iterations:
      description: The iteration the run ends at, counted the same way (the iterations before it and its own).
      type: int
    epoch:
      description: Epoch of the last iteration line, counted the same way.
      type: float
    run_iteration:
      description: The last iteration as train.lua counts it, from 1 in each run.
      type: int
    iterations_before:
      description: Iterations before this run (0 for a run that did not resume, or ran without the prelude).
      type: int
    epochs_before:
      description: Epochs before this run.
      type: float
    train_loss:
      description: Training loss of the last iteration line (null when not finite).
      type: float
    time_per_batch:
      description: Seconds per batch of the last iteration line.
      type: float
    median_time_per_batch:
      description: Median seconds per batch over the last 20 iteration lines.
      type: float
    eta_seconds:
      description: Remaining iterations times the median seconds per batch.
      type: float
    vocab_size:
      description: Vocabulary size logged by train.lua.
      type: int
    num_parameters:
      description: Number of parameters logged by train.lua.
      type: int
    last_checkpoint:
      description: The last C(saving checkpoint to) path of the log.
      type: str
    exit_status:
      description: The trainer's exit status once it has ended, if logged.
      type: int
    stopped_on:
      description:
        - The signal (V(SIGTERM), V(SIGINT) or V(SIGHUP)) the trainer stopped on after saving the iteration under way (the
          train module's O(rnn_bootstrap.charrnn.train#module:checkpoint_minutes)); it then exits 0. Null
          otherwise.
      type: str
    early_stop:
      description:
        - When early stopping (the train module's O(rnn_bootstrap.charrnn.train#module:patience)) ended the run,
          C(iteration), C(best) (the path of the best checkpoint) and C(reason), the numbers it rests on; the
          run's C(status) is then V(finished). Null otherwise.
      type: dict
    interruption:
      description:
        - The cloud's notice that it takes the machine away, as the train module's
          O(rnn_bootstrap.charrnn.train#module:interruption_notice) watcher logged it (for example
          C(EC2 spot interruption notice (terminate at 2026-12-07T12:00:00Z))); null otherwise.
      type: str
    errors:
      description: Lua error and traceback lines from the log.
      type: list
      elements: str
    log_path:
      description: The log read.
      type: str
    log_exists:
      description: Whether the log exists.
      type: bool
    log_size:
      description: The log's size in bytes (0 when it does not exist).
      type: int
advice:
  description:
    - What the loss curves and the run's sizes say, each a plain sentence with the numbers it rests on
      (C(message)), a C(key) and the C(numbers).
    - V(overfitting) is validation loss rising over the last validations while training loss falls (more dropout,
      a smaller rnn_size); V(underfitting) training and validation loss close and flat (a larger model);
      V(model_too_large) ten times more parameters than characters of text; V(diverging) a NaN, exploding or not
      finite loss (a lower learning_rate); V(corpus_too_small) too few batches of batch_size x seq_length for
      char-rnn, or for a validation loss that is not noise.
    - Empty when nothing calls for a change, or before the log says enough.
  returned: always
  type: list
  elements: dict
  sample: [{key: overfitting, message: "validation loss rose over the last 3 validations (1.4921 at iteration 900 to
           1.5310 at iteration 1500, ...): the model overfits; raise dropout (now 0) or lower rnn_size (now 128)",
           numbers: {val_loss_from: 1.4921, val_loss_to: 1.531}}]
eta:
  description:
    - When the run ends and what it costs. C(eta_seconds) counts to the last iteration (0 once the run has
      ended); C(may_end_sooner) is true while early stopping may end it first; C(cost_so_far) (the run's wall
      time since it started) and C(cost_to_end) are there with O(hourly_price), else null; C(message) says it
      all in a sentence.
    - Null when the run has no log yet.
  returned: always
  type: dict
  sample: {eta_seconds: 5400, may_end_sooner: true, cost_so_far: 0.6, cost_to_end: 0.9,
           message: "about 1 h 30 min left to iteration 21150, 0.60 spent in 1 h 30 min at 0.4 an hour, 0.90 more
           to the end; early stopping is on, so the run may end sooner"}
log_tail:
  description: The last 20 lines of the current run's log.
  returned: on failure while waiting
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._checkpoint_manager import (
    CheckpointManager, argument_spec)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    CheckpointManager(module).run()


if __name__ == '__main__':
    main()
