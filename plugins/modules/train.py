#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: train
short_description: Run char-rnn's train.lua in a detached GNU screen session
description:
  - Starts C(th train.lua) in char-rnn's directory inside a detached, named GNU screen session, as the user the
    task runs as, with its output (stdout and stderr) appended to a log file.
  - The trainer runs with C(OPENBLAS_NUM_THREADS) set to O(threads) (default every CPU the task may run
    on), C(OMP_NUM_THREADS) to O(omp_threads) (default 1) and C(OMP_WAIT_POLICY=PASSIVE). The matrix
    products, nearly all of char-rnn's work, run in OpenBLAS; Torch's OpenMP loops only split tensors far
    larger than char-rnn's, and an actively waiting OpenMP pool competes with OpenBLAS's (measured on the
    default model with 2 CPUs, 0.66 s/batch with both at 2 threads and active waiting; the sweep in the
    collection's benchmarks/README.md puts this default within a few percent of the best setting).
  - Idempotent. When the session already runs, nothing is started and the task reports no change, with a
    warning when the running command differs from the one asked for. The command of each run is kept in a
    JSON state file next to the log (V(<log_path>.state.json)); the trainer's pid in V(<log_path>.pid).
  - A per-user, per-session lock file (C(fcntl.flock) on V(/tmp/charrnn-<uid>-<session>.lock)) guards
    check-and-start, so concurrent tasks on one host start exactly one trainer.
  - Before anything is started the module checks that C(train.lua) is in O(chdir), that C(th) and C(screen)
    are usable, that O(data_dir)C(/input.txt) is a readable file large enough for char-rnn's batch split
    (at least one training batch, and one validation batch when C(val_frac) > 0, computed the way
    char-rnn's C(CharSplitLMMinibatchLoader) does), that O(checkpoint_dir) can be written, and that its
    disk has room for the checkpoints the run keeps (each estimated from the model's size, their number
    from C(max_epochs), C(eval_val_every) and O(keep)) plus 64 MiB.
  - "Before each run a line C([charrnn] run started ...) is appended to the log; when the trainer ends the
    wrapper appends C([charrnn] run ended: exit status N). The M(rnn_bootstrap.charrnn.checkpoint) module
    reads the current run from the last marker on."
  - With O(resume=true) the run starts with C(-init_from) the latest complete checkpoint of the savefile
    (ordered by modification time, then epoch), when that checkpoint fits the run asked for.
  - "Resuming only into a compatible model: before C(-init_from), the module loads the checkpoint with
    C(th) and compares it with the dataset and the options. train.lua would stop at once if the
    vocabulary of O(data_dir) (the set of bytes of its C(input.txt), or its C(vocab.t7) when that is up
    to date) differs from the checkpoint's, and would silently take C(rnn_size), C(num_layers) and
    C(model) from the checkpoint. So when the vocabulary differs (a new corpus), when C(options) set
    C(rnn_size), C(num_layers) or C(model) to something else than the checkpoint has (a new
    architecture), or when the checkpoint cannot be loaded, the run starts from scratch under a new run
    savefile and the task warns, naming each difference (RV(not_resumed)). An architecture flag left out
    of C(options) asks for nothing: the checkpoint's model is continued. With O(require_resume=true) the
    task fails instead, before it stops or starts anything."
  - "Success means training: a start is reported only once the trainer is past loading and has logged
    an iteration (or an evaluation or a checkpoint). When it ends first (for instance a Lua error) the
    task fails with the last lines of the log; when it has not trained within O(startup_timeout) seconds
    the task fails with the log tail and leaves the trainer running."
  - Before a start the module estimates the memory the run takes (char-rnn keeps the whole corpus in
    memory, and C(seq_length) clones of the network with their activations for a batch) and warns when
    it exceeds the memory available to the task (C(MemAvailable), or less under a cgroup memory limit),
    instead of leaving the kernel to kill the trainer later (RV(memory)).
  - A run never overwrites a checkpoint of an earlier run. char-rnn restarts its epoch count at 0 on resume,
    and its fixed default seed makes a run from scratch repeat an earlier run's losses, so either could
    write a name an earlier run wrote. When checkpoints of the savefile exist in O(checkpoint_dir), the run
    writes as C(<savefile>.run<N>) (N one more than the highest run present, RV(savefile)); the
    M(rnn_bootstrap.charrnn.checkpoint) and M(rnn_bootstrap.charrnn.sample) modules count those as the
    same savefile.
version_added: 1.0.0
author:
  - rnn_bootstrap maintainers (!UNKNOWN)
options:
  state:
    description:
      - V(started) starts the run unless the session already runs, or unless the last run of this session was
        started with the same command and environment, trained to its last iteration and exited 0 (then
        nothing starts and RV(finished) is true; a stopped or crashed run is started again, resuming).
      - V(stopped) ends the trainer (C(SIGTERM), then C(SIGKILL) after O(stop_timeout) seconds) and the screen
        session.
      - V(restarted) does both, always starting a new run.
    type: str
    choices: [started, stopped, restarted]
    default: started
  chdir:
    description:
      - The char-rnn checkout; train.lua runs from here. Relative O(data_dir) and O(checkpoint_dir) are relative
        to it.
    type: path
    default: /opt/rnn-karpathy
  data_dir:
    description:
      - Directory holding C(input.txt), passed to train.lua as C(-data_dir) exactly as given.
      - char-rnn writes C(vocab.t7) and C(data.t7) there on the first run.
    type: path
    default: data/tinyshakespeare
  checkpoint_dir:
    description:
      - Where train.lua writes checkpoints, passed as C(-checkpoint_dir) exactly as given. Created when missing.
    type: path
    default: cv
  session:
    description:
      - Name of the screen session (letters, digits, V(_), V(+), V(-)).
    type: str
    default: charrnn
  log_path:
    description:
      - File the trainer's output is appended to.
      - Default V(<chdir>/<checkpoint_dir>/train-<session>.log), the same rule the
        M(rnn_bootstrap.charrnn.checkpoint) and M(rnn_bootstrap.charrnn.sample) modules use.
    type: path
  th:
    description:
      - Path of the C(th) executable.
      - Default C(th) on E(PATH), else V(/opt/torch/bin/th) or V(/opt/torch/install/bin/th).
    type: path
  gpuid:
    description:
      - Passed as C(-gpuid). V(-1) trains on the CPU (train.lua's own default is V(0)).
    type: int
    default: -1
  resume:
    description:
      - When checkpoints of this savefile exist in O(checkpoint_dir), start with C(-init_from) the latest one,
        unless it does not fit the dataset or the options (see the description); then the run starts from
        scratch under a new run savefile, with a warning.
    type: bool
    default: true
  require_resume:
    description:
      - Fail, before stopping or starting anything, unless the run can resume (a checkpoint of this savefile
        exists and fits the dataset and the options). The message names each difference.
      - Needs O(resume=true).
    type: bool
    default: false
  startup_timeout:
    description:
      - Seconds a new trainer has to get past loading (preprocessing the corpus, building and cloning the
        network) and log its first iteration before the task fails with the log tail. The trainer is left
        running then.
      - With a large C(print_every) the first iteration line comes later; raise this with it.
    type: int
    default: 300
  threads:
    description:
      - OpenBLAS threads (C(OPENBLAS_NUM_THREADS)).
      - Default the number of CPUs the task may run on.
    type: int
  omp_threads:
    description:
      - OpenMP threads (C(OMP_NUM_THREADS)).
    type: int
    default: 1
  precision:
    description:
      - The precision train.lua computes in on the CPU, applied without changing char-rnn's files.
      - V(float) (single precision) trains faster than V(double) for the same model; the collection's
        benchmarks/README.md has the figures, the loss after the same iterations included. train.lua runs
        unchanged through a small Lua launcher that sets Torch's default tensor type, kept next to the log
        as V(<log_path>.launcher.lua) and rewritten when it differs. The command becomes
        C(th <log_path>.launcher.lua float train.lua ...).
      - V(double) is char-rnn's own behaviour on the CPU (C(th train.lua ...), no launcher).
      - Checkpoints stay in char-rnn's CPU format (double) with either precision, so C(th sample.lua
        cv/<checkpoint> -gpuid -1), the M(rnn_bootstrap.charrnn.sample) module, O(resume) from a checkpoint of
        either precision, and checkpoints written before this option all keep working. A float model is
        saved as a double copy; the model being trained is never re-typed.
      - A running trainer started with another precision is left alone with a warning, as for any other
        difference (use V(restarted) to apply it). A run that already trained to its end is left alone whatever
        its precision (V(started)); the precision changes how fast a model trains, and this one is trained.
      - On a GPU (O(gpuid) >= 0 with CUDA or OpenCL working) char-rnn computes in single precision anyway and
        its checkpoints are left as char-rnn writes them.
    type: str
    choices: [float, double]
    default: float
  options:
    description:
      - Any other train.lua flag, without the leading dash, for example C(rnn_size), C(num_layers), C(model)
        (V(lstm), V(gru) or V(rnn)), C(seq_length), C(batch_size), C(learning_rate), C(learning_rate_decay),
        C(learning_rate_decay_after), C(decay_rate), C(dropout), C(max_epochs), C(grad_clip), C(train_frac),
        C(val_frac), C(seed), C(print_every), C(eval_val_every), C(savefile), C(accurate_gpu_timing),
        C(opencl).
      - Values are checked against the flag's type and range; an unknown flag is an error.
      - C(data_dir), C(checkpoint_dir), C(gpuid) and C(init_from) are set by the module options
        O(data_dir), O(checkpoint_dir), O(gpuid) and O(resume) and are rejected here.
    type: dict
    default: {}
  keep:
    description:
      - Checkpoint retention while the run trains. With V(N > 0), every minute and when the trainer ends, only
        the N most recently written checkpoints of the savefile (earlier runs included) and the one with the
        lowest validation loss are kept; the others are deleted. The newest checkpoint, which may still be
        being written, is always kept.
      - V(0) keeps every checkpoint, as char-rnn does.
    type: int
    default: 0
  stop_timeout:
    description:
      - Seconds to wait after C(SIGTERM) before the trainer gets C(SIGKILL).
    type: int
    default: 10
extends_documentation_fragment:
  - rnn_bootstrap.charrnn.attributes
attributes:
  check_mode:
    support: full
    details: Runs every check and reports the command that would run; starts and stops nothing.
  diff_mode:
    support: none
notes:
  - The trainer runs as the user of the task (use C(become_user) to choose it); screen sessions are per user.
  - The trainer's output is line-buffered through C(stdbuf) when coreutils provides it; without it the log
    can lag by a few kilobytes.
  - Attach to the session with C(screen -r <session>) to watch the output live.
requirements:
  - GNU screen
  - Torch7 (C(th)) and a char-rnn checkout
seealso:
  - module: rnn_bootstrap.charrnn.checkpoint
  - module: rnn_bootstrap.charrnn.sample
'''

EXAMPLES = r'''
- name: Train the default model on tinyshakespeare, resuming from the latest checkpoint
  rnn_bootstrap.charrnn.train:
    chdir: /opt/rnn-karpathy
  register: run

- name: Train a small GRU on another corpus, two threads, checkpoints every 500 iterations
  rnn_bootstrap.charrnn.train:
    session: poems
    data_dir: data/poems
    checkpoint_dir: cv/poems
    threads: 2
    options:
      model: gru
      rnn_size: 256
      num_layers: 2
      dropout: 0.25
      eval_val_every: 500
      savefile: poems

- name: Start from scratch even when checkpoints exist
  rnn_bootstrap.charrnn.train:
    state: restarted
    resume: false

- name: Continue the latest model with a lower learning rate, or fail naming what does not fit
  rnn_bootstrap.charrnn.train:
    state: restarted
    require_resume: true
    options:
      learning_rate: 0.0005

- name: Stop training
  rnn_bootstrap.charrnn.train:
    state: stopped
'''

RETURN = r'''
session:
  description: Name of the screen session.
  returned: always
  type: str
  sample: charrnn
pid:
  description: Pid of the trainer process (th, not screen); null when nothing runs or in check mode.
  returned: always
  type: int
  sample: 12345
command:
  description: The trainer's argv (as started, as recorded for a running session, or as it would be started).
  returned: always
  type: list
  elements: str
  sample: [/opt/torch/bin/th, train.lua, -data_dir, data/tinyshakespeare, -checkpoint_dir, cv, -gpuid, "-1"]
log_path:
  description: Absolute path of the log file.
  returned: always
  type: str
  sample: /opt/rnn-karpathy/cv/train-charrnn.log
checkpoint_dir:
  description: Absolute path of the checkpoint directory.
  returned: always
  type: str
  sample: /opt/rnn-karpathy/cv
resumed_from:
  description: Absolute path of the checkpoint passed as C(-init_from), or null.
  returned: always
  type: str
  sample: /opt/rnn-karpathy/cv/lm_lstm_epoch1.00_1.8123.t7
precision:
  description: The precision the trainer computes in (as recorded for a running session).
  returned: always
  type: str
  sample: float
env:
  description: The thread variables set for the trainer.
  returned: always
  type: dict
  sample: {OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "2", OMP_WAIT_POLICY: PASSIVE}
set_aside:
  description:
    - Checkpoints the last trainer was writing when it died (killed, crashed, or gone with the host), renamed
      to C(<name>.incomplete) so that nothing lists, resumes from or samples them (in check mode, those that
      would be).
  returned: when a run was started or would be started
  type: list
  elements: str
savefile:
  description:
    - The savefile the run writes checkpoints under (C(<savefile>.run<N>) after earlier runs); for a
      session that already runs, the one it was started with. Wait for its checkpoints with
      M(rnn_bootstrap.charrnn.checkpoint) and this savefile, not an earlier run's.
  returned: always
  type: str
  sample: lstm.run2
not_resumed:
  description:
    - The latest checkpoint and why the run did not resume from it (the vocabulary of the dataset, the
      architecture flags asked for, or a checkpoint that cannot be loaded); null when the run resumes or
      no checkpoint exists.
  returned: when a run was started or would be started
  type: dict
  sample: {checkpoint: /opt/rnn-karpathy/cv/lm_lstm_epoch2.36_1.7637.t7,
           differences: ["rnn_size: 256 asked, the checkpoint has 128"]}
memory:
  description:
    - The estimated memory of the run and the memory available, in MiB (C(available) null when unknown).
  returned: when a run was started or would be started
  type: dict
  sample: {estimated_mib: 352, available_mib: 901, fits: true}
finished:
  description: The last run already trained to its last iteration with these settings, so nothing started.
  returned: always
  type: bool
  sample: false
running:
  description: Whether the trainer runs after the task (in check mode, whether it would).
  returned: always
  type: bool
dataset:
  description: The input size and char-rnn's batch split (when a start was checked).
  returned: when a run was started or would be started
  type: dict
  sample: {input_bytes: 1115394, needs_preprocessing: false, batches: 446, train_batches: 423,
           val_batches: 23, test_batches: 0, minimum_bytes: 5000}
stopped_pids:
  description: Trainer pids that were stopped.
  returned: when O(state) is V(stopped) or V(restarted)
  type: list
  elements: int
'''

import fcntl
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _checkpoints
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _dataset
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _files
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _precision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _processes
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _resources
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _resume
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _run_state
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _sampling
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _screen
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _th
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _threads
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _train_flags
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _trainer
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _trainlog
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _wrapper

STARTUP_TIMEOUT = 15.0


class Lock:
    """fcntl.flock on the per-user, per-session lock file."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        flags = os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0)
        self.fd = os.open(self.path, flags, 0o600)
        st = os.fstat(self.fd)
        if st.st_uid != os.getuid():
            os.close(self.fd)
            raise OSError('lock file %s belongs to uid %d, not to this user (uid %d): remove it'
                          % (self.path, st.st_uid, os.getuid()))
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        return False


def running_status(screen_bin, session, log_path, runner):
    sessions = _screen.find_sessions(screen_bin, session, runner)
    alive = [s for s in sessions if s['alive']]
    state = _run_state.read_state(log_path)
    pid = _trainer.trainer_pid(log_path, state)
    if pid is None:
        for s in alive:
            pids = _processes.trainer_pids_under(s['pid'])
            if pids:
                pid = pids[0]
                break
    return {'sessions': sessions, 'alive': alive, 'pid': pid, 'state': state,
            'running': bool(alive) or pid is not None}


def freed_memory(status):
    """Memory the trainer a restart stops gives back (its resident size)."""
    return _processes.resident_bytes(status['pid']) if status['running'] and status['pid'] else 0


def stop_run(module, screen_bin, session, log_path, status, runner):
    """End trainer(s) and session(s); returns the trainer pids stopped."""
    pids = set()
    if status['pid']:
        pids.add(status['pid'])
    for s in status['sessions']:
        pids.update(_processes.trainer_pids_under(s['pid']))
    pids = sorted(pids)
    _processes.terminate(pids, grace=float(module.params['stop_timeout']))
    # Without its trainer the wrapper ends by itself, after logging the exit
    # status; give it a moment before quitting the session (which would HUP it).
    deadline = time.time() + (3 if pids else 0)
    while time.time() < deadline and any(s['alive'] for s in _screen.find_sessions(screen_bin, session, runner)):
        time.sleep(0.05)
    for s in _screen.find_sessions(screen_bin, session, runner):
        if s['alive']:
            _screen.quit_session(screen_bin, s['id'], runner)
    deadline = time.time() + 5
    while time.time() < deadline and any(s['alive'] for s in _screen.find_sessions(screen_bin, session, runner)):
        time.sleep(0.1)
    left = [s for s in _screen.find_sessions(screen_bin, session, runner) if s['alive']]
    if left:
        # screen did not quit: end it and whatever runs under it
        under = []
        for s in left:
            under.extend(_processes.descendants(s['pid']))
        _processes.terminate([s['pid'] for s in left] + under, grace=2.0)
    if any(not s['alive'] for s in _screen.find_sessions(screen_bin, session, runner)):
        _screen.wipe(screen_bin, runner)
    state = _run_state.read_state(log_path)
    if state:
        state['stopped_at'] = time.strftime('%Y-%m-%dT%H:%M:%S%z')
        state['pid'] = None
        try:
            _run_state.write_state(log_path, state)
        except (IOError, OSError):
            pass
    try:
        os.unlink(_paths.pid_path(log_path))
    except OSError:
        pass
    return pids


def preflight(module, p, chdir, data_dir_abs, checkpoint_dir_abs, log_path, flags):
    """Checks before a start; fails the module with what to fix."""
    if not os.path.isdir(chdir):
        module.fail_json(msg="chdir %s is not a directory: set chdir to the char-rnn checkout" % chdir)
    if not os.path.isfile(os.path.join(chdir, 'train.lua')):
        module.fail_json(msg="train.lua not found in chdir %s: set chdir to the char-rnn checkout "
                             "(git clone https://github.com/karpathy/char-rnn)" % chdir)
    th, err = _th.find_th(p['th'])
    if err:
        module.fail_json(msg=err)
    try:
        dataset, warnings = _dataset.check_dataset(data_dir_abs, flags, data_dir_shown=p['data_dir'])
    except _train_flags.OptionError as e:
        module.fail_json(msg=str(e))
    err = _files.dir_writable_error(checkpoint_dir_abs, 'checkpoint_dir')
    if err:
        module.fail_json(msg=err)
    err = _resources.disk_space_error(checkpoint_dir_abs, flags, dataset, keep=p['keep'])
    if err:
        module.fail_json(msg=err)
    log_dir = os.path.dirname(log_path)
    err = _files.dir_writable_error(log_dir, 'log directory')
    if err:
        module.fail_json(msg=err)
    if os.path.isdir(log_path):
        module.fail_json(msg="log_path %s is a directory: set log_path to a file" % log_path)
    if os.path.exists(log_path) and not os.access(log_path, os.W_OK):
        module.fail_json(msg="log_path %s is not writable by this user (uid %d)" % (log_path, os.getuid()))
    for w in warnings:
        module.warn(w)
    return th, dataset


def finished_run(log_path, base_command, env):
    """The recorded state of the log's last run when it trained all its iterations, exited 0 and was
    started with this command and environment, in either precision (the model is trained; the precision
    only made it faster); else None."""
    state = _run_state.read_state(log_path)
    if not state or state.get('env') != env or \
            _precision.native_argv(state.get('base_command')) != _precision.native_argv(base_command):
        return None
    log = _trainlog.read_log(log_path, state.get('log_offset'))
    if _trainlog.exit_status(log['lines']) != 0:
        return None
    summary = _trainlog.summarize(log['lines'], head=log.get('head'))
    return state if summary.get('phase') == 'last_iteration' else None


def find_resume(checkpoint_dir_abs, savefile, log_path, trainer_running=False):
    """(latest complete checkpoint to resume from or None, paths of truncated checkpoints).

    When the trainer is not running, every checkpoint with a stable size
    counts as complete; but one whose "saving checkpoint to" line was the
    last thing a trainer said before it died without exiting 0 (killed,
    crashed, or gone with the host, leaving no end line) may be truncated.
    """
    state = _run_state.read_state(log_path)
    log = _trainlog.read_log(log_path, state.get('log_offset'))
    saves = _trainlog.saved_checkpoints(log['lines'])
    code = _trainlog.exit_status(log['lines'])
    entries = _checkpoints.list_checkpoints(checkpoint_dir_abs, savefile)
    complete, suspect = _checkpoints.classify(entries, saves, trainer_running=trainer_running,
                                      abandoned=log['exists'] and code != 0 and not trainer_running)
    last = _checkpoints.latest(complete)
    return (last['path'] if last else None), [e['path'] for e in suspect]


def resume_plan(module, th, chdir, data_dir, data_dir_abs, dataset, flags, checkpoint):
    """Whether the run can continue `checkpoint` as asked (see _resume.py): a dict with resume_from (the
    checkpoint, or None), not_resumed ({checkpoint, differences} or None), probe and vocab_size."""
    plan = {'resume_from': None, 'not_resumed': None, 'probe': None, 'vocab_size': None}
    if not checkpoint:
        return plan
    # The loader reads vocab.t7 when it is up to date, else it builds the vocabulary from input.txt.
    vocab_t7 = None if dataset['needs_preprocessing'] else os.path.join(data_dir_abs, 'vocab.t7')
    rc, out, err, probe = _sampling.run_probe(module.run_command, th, chdir, checkpoint, vocab_file=vocab_t7)
    if probe['kind'] is None:
        module.fail_json(msg='th could not load checkpoint %s to check that training can resume from it '
                             '(exit status %d): %s' % (checkpoint, rc, (err or out).strip()[-2000:]))
    vocab = probe['dataset_vocab']
    if vocab is None:
        vocab = _resume.input_vocabulary(os.path.join(data_dir_abs, 'input.txt'))
    plan.update(probe=probe, vocab_size=len(vocab))
    differences = _resume.differences(probe, vocab, flags, dataset_shown='%s/input.txt' % data_dir)
    if differences:
        plan['not_resumed'] = {'checkpoint': checkpoint, 'differences': differences}
    else:
        plan['resume_from'] = checkpoint
    return plan


def require_resume_error(p, savefile, checkpoint_dir_abs, plan):
    """With require_resume, why the run cannot resume; else None."""
    if not p['require_resume'] or plan['resume_from']:
        return None
    if plan['not_resumed']:
        return ('require_resume: training cannot resume from %s: %s. Nothing was stopped or started. Train '
                'with the dataset and architecture of that checkpoint, or set require_resume to false to '
                'train a new model from scratch under a new run savefile (the checkpoints stay)'
                % (plan['not_resumed']['checkpoint'], '; '.join(plan['not_resumed']['differences'])))
    return ("require_resume: there is no complete checkpoint of savefile '%s' in %s to resume from. Nothing "
            "was stopped or started. Set require_resume to false to train from scratch"
            % (savefile, checkpoint_dir_abs))


def memory_check(flags, dataset, plan, freed=0):
    """(the RV memory dict, a warning or None) for the model the run will train on this corpus."""
    model = _resume.effective_model(flags, plan['probe'] if plan['resume_from'] else None)
    estimate = _resources.estimate_memory_bytes(
        model['model'], model['rnn_size'], model['num_layers'], plan['vocab_size'] or _resources.MAX_VOCAB,
        _train_flags.flag_value(flags, 'seq_length'), _train_flags.flag_value(flags, 'batch_size'),
        dataset['input_bytes'], needs_preprocessing=dataset['needs_preprocessing'])
    available = _resources.available_memory_bytes()
    warning = _resources.memory_warning(estimate, available, freed=freed)
    mib = 1 << 20
    return ({'estimated_mib': _resources.mib_up(estimate['total']),
             'available_mib': None if available is None else (available + freed) // mib,
             'fits': warning is None}, warning)


def not_resumed_warning(plan, run_save):
    return ('not resuming from %s: %s. Training a new model from scratch under savefile %s; the earlier '
            'checkpoints stay (set require_resume to fail instead)'
            % (plan['not_resumed']['checkpoint'], '; '.join(plan['not_resumed']['differences']), run_save))


def set_aside(paths):
    """Renames truncated checkpoints to <name>.incomplete, so that nothing lists or samples them."""
    moved = []
    for path in paths:
        try:
            os.rename(path, path + '.incomplete')
            moved.append(path + '.incomplete')
        except OSError:
            pass
    return moved


def start_run(module, screen_bin, p, chdir, checkpoint_dir_abs, log_path, argv, base_argv, env, resumed_from,
              runner, savefile):
    """Start the wrapper in screen and find the trainer's pid; returns (pid, warnings)."""
    _files.makedirs(checkpoint_dir_abs)
    _files.makedirs(os.path.dirname(log_path))
    pid_file = _paths.pid_path(log_path)
    try:
        os.unlink(pid_file)
    except OSError:
        pass
    offset = os.path.getsize(log_path) if os.path.exists(log_path) else 0
    with open(log_path, 'a') as f:
        if offset:
            f.write('\n')
            offset += 1
        f.write(_trainlog.run_marker(p['session'], argv) + '\n')
    state = {
        'session': p['session'],
        'command': argv,
        'base_command': base_argv,
        'env': env,
        'chdir': chdir,
        'checkpoint_dir': p['checkpoint_dir'],
        'checkpoint_dir_abs': checkpoint_dir_abs,
        'data_dir': p['data_dir'],
        'log_path': log_path,
        'log_offset': offset,
        'resumed_from': resumed_from,
        'started_at': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
        'pid': None,
        'uid': os.getuid(),
    }
    _run_state.write_state(log_path, state)
    stdbuf = module.get_bin_path('stdbuf')
    warnings = []
    if not stdbuf:
        warnings.append('stdbuf (coreutils) not found: the trainer output is block-buffered, the log may lag')
    wrapper = _wrapper.build_wrapper(chdir, argv, env, log_path, pid_file, stdbuf=stdbuf, keep=p['keep'],
                                     checkpoint_dir=checkpoint_dir_abs, savefile=savefile)
    rc, err = _screen.start_session(screen_bin, p['session'], wrapper, runner, cwd=chdir)
    if rc != 0:
        module.fail_json(msg='screen failed to start session %s (rc %d): %s' % (p['session'], rc, err.strip()),
                         command=argv)
    pid = None
    deadline = time.time() + STARTUP_TIMEOUT
    while time.time() < deadline:
        cand = _run_state.read_pid_file(pid_file)
        if cand and _processes.is_script_process(cand, 'train.lua'):
            pid = cand
            break
        if cand and not _processes.pid_alive(cand):
            break
        time.sleep(0.05)
    state['pid'] = pid
    _run_state.write_state(log_path, state)
    if pid is None:
        # The trainer is gone already (or never came up): look at what it said.
        end = time.time() + 3
        log = _trainlog.read_log(log_path, offset)
        while time.time() < end and _trainlog.exit_status(log['lines']) is None:
            time.sleep(0.1)
            log = _trainlog.read_log(log_path, offset)
        summary = _trainlog.summarize(log['lines'], log['head'])
        code = _trainlog.exit_status(log['lines'])
        tail = _trainlog.tail(log['lines'], _trainer.LOG_TAIL_LINES)
        if summary['phase'] in ('error', 'nan', 'exploding') or code not in (None, 0):
            module.fail_json(msg='the trainer ended before it trained (status %s, %s); last log lines (%s):\n%s'
                             % (code, summary['phase'], log_path, '\n'.join(tail)),
                             command=argv, log_path=log_path, log_tail=tail, exit_status=code)
        if code is None:
            module.fail_json(msg='the trainer did not come up within %ds; last log lines:\n%s'
                             % (STARTUP_TIMEOUT, '\n'.join(tail)), command=argv, log_path=log_path, log_tail=tail)
        warnings.append('the trainer already exited (status %s) after %s iteration(s); see %s'
                        % (code, summary['iteration'] or 0, log_path))
        return pid, warnings
    warnings.extend(wait_until_training(module, p, pid, argv, log_path, offset))
    return pid, warnings


def wait_until_training(module, p, pid, argv, log_path, offset):
    """Returns once the new trainer has trained (warnings), or fails the task with the log tail."""
    seen = _trainer.wait_until_trained(log_path, offset, pid, p['startup_timeout'])
    summary, code, tail = seen['summary'], seen['exit_status'], seen['tail']
    details = dict(command=argv, log_path=log_path, log_tail=tail, exit_status=code, pid=pid)
    if seen['outcome'] == 'timeout':
        module.fail_json(msg='the trainer (pid %d) has not logged a first iteration within %ds (startup_timeout): '
                             'it is still %s. It keeps running in screen session %s; raise startup_timeout for a '
                             'large corpus or print_every, or stop it with state=stopped. Last log lines (%s):\n%s'
                             % (pid, p['startup_timeout'], 'loading' if summary['phase'] == 'starting'
                                else summary['phase'], p['session'], log_path, '\n'.join(tail)),
                         running=True, **details)
    if seen['outcome'] == 'ended':
        if summary['phase'] in ('error', 'nan', 'exploding') or code not in (None, 0) \
                or not _trainer.has_trained(summary):
            module.fail_json(msg='the trainer ended before it trained (status %s, %s); last log lines (%s):\n%s'
                                 % (code, summary['phase'], log_path, '\n'.join(tail)), running=False, **details)
        return ['the trainer already exited (status %s) after %s iteration(s); see %s'
                % (code, summary['iteration'] or 0, log_path)]
    return []


def main():
    argument_spec = dict(
        state=dict(type='str', default='started', choices=['started', 'stopped', 'restarted']),
        chdir=dict(type='path', default=_paths.DEFAULT_CHDIR),
        data_dir=dict(type='path', default='data/tinyshakespeare'),
        checkpoint_dir=dict(type='path', default=_paths.DEFAULT_CHECKPOINT_DIR),
        session=dict(type='str', default=_screen.DEFAULT_SESSION),
        log_path=dict(type='path'),
        th=dict(type='path'),
        gpuid=dict(type='int', default=-1),
        resume=dict(type='bool', default=True),
        require_resume=dict(type='bool', default=False),
        startup_timeout=dict(type='int', default=300),
        threads=dict(type='int'),
        omp_threads=dict(type='int', default=1),
        precision=dict(type='str', default=_precision.DEFAULT_PRECISION, choices=list(_precision.PRECISIONS)),
        options=dict(type='dict', default={}),
        keep=dict(type='int', default=0),
        stop_timeout=dict(type='int', default=10),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params

    err = _screen.check_session_name(p['session'])
    if err:
        module.fail_json(msg=err)
    if p['gpuid'] < -1:
        module.fail_json(msg='gpuid must be -1 (CPU) or a GPU index >= 0, got %d' % p['gpuid'])
    if p['threads'] is not None and p['threads'] < 1:
        module.fail_json(msg='threads must be >= 1, got %d' % p['threads'])
    if p['omp_threads'] < 1:
        module.fail_json(msg='omp_threads must be >= 1, got %d' % p['omp_threads'])
    if p['keep'] < 0:
        module.fail_json(msg='keep must be 0 (keep every checkpoint) or more, got %d' % p['keep'])
    if p['stop_timeout'] < 0:
        module.fail_json(msg='stop_timeout must be >= 0, got %d' % p['stop_timeout'])
    if p['startup_timeout'] < 1:
        module.fail_json(msg='startup_timeout must be >= 1, got %d' % p['startup_timeout'])
    if p['require_resume'] and not p['resume']:
        module.fail_json(msg='require_resume needs resume=true: a run that must resume cannot start from scratch')
    try:
        flags = _train_flags.validate_options(p['options'])
    except _train_flags.OptionError as e:
        module.fail_json(msg=str(e))

    chdir = _paths.resolve(p['chdir'], os.getcwd())
    checkpoint_dir_abs = _paths.resolve(p['checkpoint_dir'], chdir)
    data_dir_abs = _paths.resolve(p['data_dir'], chdir)
    log_path = _paths.resolve(p['log_path'], chdir) if p['log_path'] else \
        _paths.default_log_path(checkpoint_dir_abs, p['session'])
    savefile = _train_flags.flag_value(flags, 'savefile')
    env = _threads.thread_env(p['threads'], p['omp_threads'])
    launcher = _precision.launcher_path(log_path)

    screen_bin = module.get_bin_path('screen')
    if not screen_bin:
        module.fail_json(msg='GNU screen not found on PATH: install the screen package')
    runner = _screen.module_runner(module)

    result = dict(changed=False, session=p['session'], pid=None, command=[], log_path=log_path,
                  checkpoint_dir=checkpoint_dir_abs, resumed_from=None, env=env, running=False,
                  finished=False, precision=p['precision'], savefile=savefile)

    def base_argv(th):
        return _train_flags.build_train_argv(th, flags, p['data_dir'], p['checkpoint_dir'], p['gpuid'],
                                          precision=p['precision'], launcher=launcher)

    def resume_point(trainer_running=False):
        """(checkpoint to resume from or None, truncated checkpoints a dead trainer left)."""
        resumed, truncated = find_resume(checkpoint_dir_abs, savefile, log_path, trainer_running)
        return (resumed if p['resume'] else None), truncated

    def plan_for(th, dataset, checkpoint):
        plan = resume_plan(module, th, chdir, p['data_dir'], data_dir_abs, dataset, flags, checkpoint)
        err = require_resume_error(p, savefile, checkpoint_dir_abs, plan)
        if err:
            module.fail_json(msg=err, not_resumed=plan['not_resumed'], **dict(
                (k, v) for k, v in result.items() if k != 'msg'))
        return plan

    def run_command(th, resumed):
        """(the savefile the new run writes under, its argv)."""
        run_save = _checkpoints.run_savefile(checkpoint_dir_abs, savefile)
        return run_save, _train_flags.build_train_argv(th, flags, p['data_dir'], p['checkpoint_dir'], p['gpuid'],
                                                    init_from=resumed, savefile=run_save,
                                                    precision=p['precision'], launcher=launcher)

    def recorded(status, res):
        st = status['state']
        res['pid'] = status['pid']
        res['running'] = True
        res['command'] = st.get('command') or []
        if st.get('command'):
            res['savefile'] = _train_flags.argv_flag(st['command'], 'savefile')
        res['resumed_from'] = st.get('resumed_from')
        res['precision'] = _precision.precision_of(res['command']) or res['precision']
        if st.get('env'):
            res['env'] = st['env']

    def leave_finished_run(status):
        """started does not train again what already trained to the end with the same settings."""
        if p['state'] != 'started' or status['running']:
            return
        th, dummy = _th.find_th(p['th'])
        done = finished_run(log_path, base_argv(th), env) if th else None
        if done:
            result.update(command=done.get('command') or [], finished=True,
                          precision=_precision.precision_of(done.get('command')) or p['precision'],
                          savefile=_train_flags.argv_flag(done.get('command'), 'savefile'),
                          msg='training with these settings already ran to its last iteration; '
                              'use state=restarted to train again')
            module.exit_json(**result)

    lock = Lock(_paths.lock_path(p['session']))

    if module.check_mode:
        status = running_status(screen_bin, p['session'], log_path, runner)
        if p['state'] == 'stopped':
            if status['running']:
                recorded(status, result)
                result['changed'] = True
                result['running'] = False
            module.exit_json(**result)
        if p['state'] == 'started' and status['running']:
            recorded(status, result)
            module.exit_json(**result)
        leave_finished_run(status)
        th, dataset = preflight(module, p, chdir, data_dir_abs, checkpoint_dir_abs, log_path, flags)
        resumed, truncated = resume_point(trainer_running=status['running'])
        plan = plan_for(th, dataset, resumed)
        memory, memory_warning = memory_check(flags, dataset, plan, freed=freed_memory(status))
        run_save, argv = run_command(th, plan['resume_from'])
        if plan['not_resumed']:
            module.warn(not_resumed_warning(plan, run_save))
        if memory_warning:
            module.warn(memory_warning)
        result.update(changed=True, command=argv, dataset=dataset, running=True, resumed_from=plan['resume_from'],
                      savefile=run_save, set_aside=[t + '.incomplete' for t in truncated],
                      not_resumed=plan['not_resumed'], memory=memory)
        if status['running']:
            result['stopped_pids'] = [status['pid']] if status['pid'] else []
        module.exit_json(**result)

    try:
        lock.__enter__()
    except (IOError, OSError) as e:
        module.fail_json(msg='cannot lock %s: %s' % (lock.path, e))
    try:
        status = running_status(screen_bin, p['session'], log_path, runner)
        if p['state'] == 'stopped':
            if status['running']:
                recorded(status, result)
                result['stopped_pids'] = stop_run(module, screen_bin, p['session'], log_path, status, runner)
                result['changed'] = True
            else:
                result['stopped_pids'] = []
                result['command'] = status['state'].get('command') or []
            result['running'] = False
            result['pid'] = None
            module.exit_json(**result)

        if p['state'] == 'started' and status['running']:
            recorded(status, result)
            st = status['state']
            th, err = _th.find_th(p['th'])
            if not st:
                module.warn('session %s runs but was not started by this module (no state file %s): '
                            'cannot compare its command' % (p['session'], _paths.state_path(log_path)))
            elif th and (st.get('base_command') != base_argv(th) or st.get('env') != env):
                precision_change = _precision.difference(st.get('base_command'), p['precision'])
                module.warn('session %s already runs a different command%s: %s (env %s); asked for: %s (env %s). '
                            'Use state=restarted to apply the change.'
                            % (p['session'], ' (%s)' % precision_change if precision_change else '',
                               ' '.join(st.get('base_command') or []), st.get('env'), ' '.join(base_argv(th)), env))
            if not status['alive']:
                module.warn('screen session %s is gone but its trainer (pid %s) still runs'
                            % (p['session'], status['pid']))
            module.exit_json(**result)

        leave_finished_run(status)
        th, dataset = preflight(module, p, chdir, data_dir_abs, checkpoint_dir_abs, log_path, flags)
        # Decide before stopping anything: a run that must resume fails here, having changed nothing.
        resumed, dummy = resume_point(trainer_running=status['running'])
        plan = plan_for(th, dataset, resumed)
        memory, memory_warning = memory_check(flags, dataset, plan, freed=freed_memory(status))
        if _precision.needs_launcher(p['precision']):
            # Before a running trainer is stopped: a launcher that cannot be written changes nothing.
            try:
                _files.makedirs(os.path.dirname(launcher))
                _precision.install_launcher(launcher)
            except (IOError, OSError) as e:
                module.fail_json(msg='cannot write the precision launcher %s: %s; fix the permissions of its '
                                     'directory or set precision=double to run train.lua without it' % (launcher, e))
        if status['running']:  # restarted
            result['stopped_pids'] = stop_run(module, screen_bin, p['session'], log_path, status, runner)
        elif p['state'] == 'restarted':
            result['stopped_pids'] = []
        resumed_now, truncated = resume_point()
        if resumed_now != resumed:  # the stopped trainer finished a checkpoint meanwhile
            plan = plan_for(th, dataset, resumed_now)
        result['set_aside'] = set_aside(truncated)
        for path in result['set_aside']:
            module.warn('the last trainer died while writing %s: renamed it so that nothing takes it for a '
                        'checkpoint' % path)
        run_save, argv = run_command(th, plan['resume_from'])
        if plan['not_resumed']:
            module.warn(not_resumed_warning(plan, run_save))
        if memory_warning:
            module.warn(memory_warning)
        pid, warnings = start_run(module, screen_bin, p, chdir, checkpoint_dir_abs, log_path, argv,
                                  base_argv(th), env, plan['resume_from'], runner, savefile)
        for w in warnings:
            module.warn(w)
        result.update(changed=True, pid=pid, command=argv, resumed_from=plan['resume_from'], dataset=dataset,
                      running=pid is not None, savefile=run_save, not_resumed=plan['not_resumed'],
                      memory=memory)
    finally:
        lock.__exit__()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
