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
    larger than char-rnn's, and an actively waiting OpenMP pool competes with OpenBLAS's for the same CPUs
    (the thread sweep in the collection's benchmarks/README.md compares this default with the others).
  - "On x86_64, when the OpenBLAS Torch links is a C(DYNAMIC_ARCH) build that does not recognise the CPU and
    fell back to kernels older than AVX2 (Prescott's, or Barcelona's for an unknown AMD family) while the
    CPU has AVX-512 or AVX2 and FMA, the trainer also gets C(OPENBLAS_CORETYPE=SkylakeX) or
    C(OPENBLAS_CORETYPE=Haswell), the kernels the CPU can run: a distribution's OpenBLAS older than a cloud
    machine's CPU otherwise leaves the matrix products several times slower. The module asks the library
    itself (C(ldd) of Torch's C(libTH.so), then its C(openblas_get_corename) function). A core OpenBLAS
    recognised is never replaced, and an C(OPENBLAS_CORETYPE) in the task's C(environment) wins: the
    trainer inherits it."
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
        started with the same command and thread settings, trained to its last iteration and exited 0 (then
        nothing starts and RV(finished) is true; a stopped or crashed run is started again, resuming).
      - V(stopped) ends the trainer (C(SIGTERM), then C(SIGKILL) after O(stop_timeout) seconds) and the screen
        session. With V(precision=float) the trainer saves a checkpoint before it exits (O(checkpoint_minutes)).
      - V(restarted) does both, always starting a new run.
    type: str
    choices: [started, stopped, restarted]
    default: started
  chdir:
    description:
      - The char-rnn checkout; train.lua runs from here. Relative O(data_dir) and O(checkpoint_dir) are relative
        to it.
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
  log_path:
    description:
      - File the trainer's output is appended to.
      - Default V(<chdir>/<checkpoint_dir>/train-<session>.log), the same rule the
        M(rnn_bootstrap.charrnn.checkpoint) and M(rnn_bootstrap.charrnn.sample) modules use.
  gpuid:
    description:
      - Passed as C(-gpuid). V(-1) trains on the CPU (train.lua's own default is V(0)).
  resume:
    description:
      - When checkpoints of this savefile exist in O(checkpoint_dir), start with C(-init_from) the latest one,
        unless it does not fit the dataset or the options (see the description); then the run starts from
        scratch under a new run savefile, with a warning.
    type: bool
    default: true
  resume_from:
    description:
      - A checkpoint elsewhere on the host, such as one another machine trained (the collection's C(fetch.yml)
        brings it to the controller), to continue when O(checkpoint_dir) has no checkpoint of this savefile yet (a new
        machine). It is copied into O(checkpoint_dir) under its own name, keeping its time, and the run resumes
        from the copy (RV(imported_from) names the source) under a run savefile of its own.
      - Checked like any resume before anything is copied, stopped or started; where the run cannot continue it
        (another vocabulary or architecture, a file that does not load) the task fails, naming each difference,
        instead of training a new model.
      - Once O(checkpoint_dir) has checkpoints of the savefile, the run resumes from the latest of them and the task
        warns that O(resume_from) is left alone, so that a re-run never goes back to it.
      - Must be named as char-rnn names checkpoints, for the run's savefile (C(options.savefile), or its
        C(.run<N>)). Needs O(resume=true).
    type: path
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
        unchanged after a small Lua prelude that sets Torch's default tensor type, kept next to the log
        as V(<log_path>.prelude.lua) and rewritten when it differs. The command becomes
        C(th <log_path>.prelude.lua float train.lua ...). A trainer started by an earlier release runs on from
        V(<log_path>.launcher.lua), which the next start of the run replaces by the prelude.
      - With V(float), the prelude also trains char-rnn's LSTM (C(model=lstm), the default, with C(dropout) 0)
        through one fused LSTM step instead of char-rnn's C(seq_length) nngraph clones. It is the same model with
        the same parameters, trained in fewer and larger tensor operations, with the weight gradients of a whole
        sequence taken at once; its train losses agree with the clones' to float rounding. Before it takes over,
        the step checks itself against the network on a small batch. The trainer's log says
        C([charrnn] LSTM step fused) or, for anything else (GRU, RNN, dropout, a GPU, a network the self-check
        tells apart), why it trains through char-rnn's clones. Setting C(CHARRNN_LSTM_STEP=graph) in the task's
        C(environment) keeps char-rnn's clones with V(float) too (a running trainer keeps what it started with);
        any other value than V(fused) or V(graph) fails the task before anything is stopped or started.
      - V(double) is char-rnn's own behaviour on the CPU (C(th train.lua ...), no prelude, so no checkpoint when
        the trainer is stopped and none by time, see O(checkpoint_minutes)).
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
        the N most recently written checkpoints of the model and the one with the lowest validation loss are
        kept; the others are deleted. The newest checkpoint, which may still be being written, is always kept.
      - The model's checkpoints are those of the run's savefile and of the runs it continues (a run resumed from
        a checkpoint of C(lstm) writes as C(lstm.run2), and both count), named exactly as train.lua names them.
        Another savefile's checkpoints (C(lstm_epochs) is not C(lstm)), and those of an earlier model that a run
        from scratch under C(lstm.run3) does not continue, are never deleted.
      - V(0) keeps every checkpoint, as char-rnn does.
    type: int
    default: 0
  stop_timeout:
    description:
      - Seconds to wait after C(SIGTERM) before the trainer gets C(SIGKILL).
      - With V(precision=float) the trainer saves a checkpoint before it exits (see O(checkpoint_minutes)); it
        finishes the iteration under way, evaluates the validation split and writes the checkpoint. The default
        leaves room for that with char-rnn's default model on a small machine; a large corpus has a large
        validation split and may need more. A trainer still running at the timeout loses what it has not saved.
    type: int
    default: 120
  checkpoint_minutes:
    description:
      - "With V(precision=float), checkpoints beyond char-rnn's own every C(eval_val_every) iterations, so that an
        unattended run loses little: the prelude has train.lua save a checkpoint, in its own format and naming
        and with a validation loss, at the end of the iteration under way when the trainer gets C(SIGTERM),
        C(SIGINT) or C(SIGHUP) (O(state=stopped), a shutdown or reboot, C(docker stop) of a container whose init
        stops its processes), and then exit 0; and after every O(checkpoint_minutes) minutes of training without a
        checkpoint, so that a power loss or a C(kill -9) loses at most that much. V(0) turns the second off."
      - The module starts C(th) with those signals blocked, so that every thread of the trainer holds them for the
        prelude (a signal otherwise ends the process in whichever thread it reaches, OpenBLAS's among them). Until
        the first iteration they act as before, and a stop while the corpus loads ends the trainer at once. With
        O(omp_threads) above 1, OpenMP may start threads that do not block them; the log then says that a stop
        saves no checkpoint.
      - The trainer logs C([charrnn] SIGTERM received ...) and C([charrnn] stopped on SIGTERM after saving
        <checkpoint> ...); a later start resumes from that checkpoint like from any other (O(resume)), and
        O(keep) counts these checkpoints like any other.
      - Passed to the trainer as C(CHARRNN_CHECKPOINT_SECONDS) (RV(env)); like the OpenBLAS core it is not a
        setting of the run, so changing it neither restarts a running trainer nor warns; it applies from the
        next start.
      - V(precision=double) runs char-rnn's train.lua itself, without the prelude, and has neither; the task
        warns when it starts one.
    type: int
    default: 10
  interruption_notice:
    description:
      - "On a spot or preemptible cloud machine, watch the cloud's notice that it takes the machine away, and stop
        the trainer when it comes, so that with V(precision=float) it saves the iteration under way (see
        O(checkpoint_minutes)) before the machine goes. The trainer's log says C([charrnn] EC2 spot interruption
        notice (<action> at <time>): stopping the trainer ...); RV(rnn_bootstrap.charrnn.checkpoint#module:training)
        has it as C(interruption)."
      - V(ec2) asks EC2's instance metadata (IMDSv2) for C(spot/instance-action), announced two minutes ahead;
        V(gcp) asks GCP's metadata server for C(instance/preempted), about thirty seconds ahead. The watcher asks
        every five seconds, beside the trainer in its screen session, with the Python the module runs on; an
        unreachable metadata service is logged once and asked again, never taken for a notice.
      - V(none) watches nothing. Like O(checkpoint_minutes), applies from the next start of the trainer.
    type: str
    choices: [none, ec2, gcp]
    default: none
  interruption_notice_url:
    description:
      - Where to ask instead of the cloud's own address (V(http://169.254.169.254/latest) for V(ec2), the base
        of IMDS; V(http://metadata.google.internal/computeMetadata/v1/instance/preempted) for V(gcp)), for a
        metadata proxy or a test service. Needs O(interruption_notice).
    type: str
    default: ''
  notify_command:
    description:
      - "A command to run on the host, as the task's user, when the run starts or resumes, stalls (see
        O(stall_minutes)), or ends: finished, stopped (with the checkpoint it saved, or killed), interrupted by the
        cloud (O(interruption_notice)), or crashed (a Lua error, NaN, an exploding loss, another exit status). It
        runs with C(/bin/sh -c), with C(CHARRNN_EVENT) (V(started), V(resumed), V(stalled), V(finished), V(stopped),
        V(interrupted) or V(crashed)), C(CHARRNN_MESSAGE), C(CHARRNN_SESSION), C(CHARRNN_HOST) and C(CHARRNN_LOG) in
        its environment and the same as a JSON object on its standard input, for at most a minute; what it prints
        and its exit status go to the run's log as C([charrnn] notify: ...) lines."
      - "For example C(curl -fsS -d \"$CHARRNN_HOST: $CHARRNN_EVENT, $CHARRNN_MESSAGE\" https://ntfy.sh/<topic>),
        or a mail command."
      - The command may carry a secret (a webhook's token); it is kept in a file next to the log that only the
        task's user can read, never on a command line, and hidden in the task's output.
      - Empty runs nothing. Applies from the next start of the trainer.
    type: str
    default: ''
  stall_minutes:
    description:
      - With O(notify_command), the minutes without a new line in the trainer's log after which the run counts
        as stalled and the command hears of it, once until the log moves again. V(0) turns it off.
    type: int
    default: 30
  patience:
    description:
      - "Early stopping: the number of validations in a row (train.lua validates and saves a checkpoint every
        C(eval_val_every) iterations of O(options)) without a new best validation loss after which the run ends,
        rather than training on to C(max_epochs) while the model gets no better. V(0) turns it off."
      - A watcher beside the trainer decides after each validation, over every validation of the model's runs (a
        resumed run continues the count); a checkpoint asked for on a stop signal or by O(checkpoint_minutes)
        can be the best but does not count against patience. When patience runs out it logs C([charrnn] early
        stop at iteration <i>, best checkpoint <path>) with the reason and stops the trainer, which with
        V(precision=float) saves the iteration under way and exits.
      - The run then counts as finished (RV(rnn_bootstrap.charrnn.checkpoint#module:training) has C(status=finished)
        and C(early_stop)); O(state=started) does not start it again, M(rnn_bootstrap.charrnn.sample) samples its
        best checkpoint by default, and O(state=restarted) resumes it, with O(patience) validations of its own
        before it may stop again.
      - Applies from the next start of the trainer.
    type: int
    default: 0
  min_delta:
    description:
      - With O(patience), how much lower than the best so far a validation loss must be to count as an
        improvement. With V(0) any lower loss is one; an equal loss never is.
    type: float
    default: 0
  supervision:
    description:
      - "Whether the training user's systemd manager supervises the run, so that it comes back by itself: a user
        unit C(charrnn-train-<session>.service) runs the module's own plan with this task's options at boot and
        after a failure, so it resumes from the newest checkpoint it can continue with the rules of O(resume)
        and O(require_resume), in the same screen session. It stays down once training finished or after
        O(state=stopped) (which disables the unit), and restarts a trainer that failed at most O(restart_limit)
        times within an hour, then gives up and says so (RV(rnn_bootstrap.charrnn.checkpoint#module:supervision))."
      - A user unit, so that the module, which runs as the training user, controls it with C(systemctl --user)
        and nothing runs as root. Its manager starts at boot only for a user who lingers (C(loginctl
        enable-linger <user>), as root; the C(rnn_bootstrap.charrnn.char_rnn) role does it).
      - V(auto) supervises where the training user's manager answers, and trains as before elsewhere (a
        container without systemd as PID 1), where RV(supervision) says that the run will not come back after a
        restart. V(systemd) fails there instead, before anything changes. V(none) removes the unit of an earlier
        task and leaves the running trainer alone.
      - "Whichever starts it, one run has one trainer: the unit's process takes the session's lock and keeps a
        trainer that runs. A trainer that this module started runs outside the unit: C(systemctl --user stop)
        ends only a trainer the unit started; stop runs with O(state=stopped)."
    type: str
    choices: [auto, systemd, none]
    default: auto
  restart_limit:
    description:
      - With supervision, how many times within an hour the unit restarts a trainer that failed (a crash, the
        out-of-memory killer, a trainer that cannot start) before it gives up. V(0) never restarts it; a reboot
        still starts the run.
    type: int
    default: 5
  restart_delay:
    description:
      - With supervision, seconds before a restart after a failure. A systemd that knows C(RestartSteps=) (254 and
        later) lengthens the delay after each failure, up to ten times this.
    type: int
    default: 30
extends_documentation_fragment:
  - rnn_bootstrap.charrnn.attributes
  - rnn_bootstrap.charrnn.training_run
  - rnn_bootstrap.charrnn.training_run.torch
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
  description:
    - The thread variables set for the trainer (for a session that already runs, as recorded when it started),
      C(OPENBLAS_CORETYPE) when the module forces OpenBLAS's kernels (see the description), and with
      V(precision=float) C(CHARRNN_CHECKPOINT_SECONDS) (O(checkpoint_minutes)).
    - "C(OPENBLAS_CORETYPE) and C(CHARRNN_CHECKPOINT_SECONDS) are not settings of the run: a run started with
      other values, or without them, counts as the same run for O(state=started)."
  returned: always
  type: dict
  sample: {OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "2", OMP_WAIT_POLICY: PASSIVE, OPENBLAS_CORETYPE: SkylakeX,
           CHARRNN_CHECKPOINT_SECONDS: "600"}
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
imported_from:
  description:
    - The O(resume_from) checkpoint the run was started from, copied into O(checkpoint_dir) as RV(resumed_from);
      null when the run resumed from a checkpoint of its own or started from scratch.
  returned: when a run was started or would be started
  type: str
  sample: /home/charrnn/lm_lstm.run3_epoch4.35_1.5740.t7
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
  description:
    - The last run already trained to its last iteration with these settings, or early stopping ended it (see
      RV(early_stop)), so nothing started.
  returned: always
  type: bool
  sample: false
early_stop:
  description:
    - When RV(finished) because early stopping ended the last run (O(patience)), the watcher's decision, with
      C(iteration), C(best) (the best checkpoint's path) and C(reason); otherwise null.
  returned: always
  type: dict
  sample: {iteration: 1500, best: /opt/rnn-karpathy/cv/lm_lstm_epoch2.84_1.4921.t7,
           reason: "3 validation(s) without a new best validation loss since iteration 900 (1.4921), patience 3; ..."}
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
supervision:
  description:
    - How the run is supervised (see O(supervision)).
    - C(mode) is V(systemd) or V(none); C(unit) the user unit's name; C(comes_back_after_reboot) whether the run
      starts again by itself after a restart of the host; C(reason) why it does not.
  returned: always
  type: dict
  sample: {mode: systemd, unit: charrnn-train-charrnn.service, comes_back_after_reboot: true, reason: null}
stopped_pids:
  description: Trainer pids that were stopped.
  returned: when O(state) is V(stopped) or V(restarted)
  type: list
  elements: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import precision as _precision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import options as _options
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import supervision as _supervision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._train_manager import TrainManager


def main():
    argument_spec = _options.argument_spec(
        torch=True,
        state=dict(type='str', default='started', choices=['started', 'stopped', 'restarted']),
        data_dir=dict(type='path', default='data/tinyshakespeare'),
        checkpoint_dir=dict(type='path', default=_paths.DEFAULT_CHECKPOINT_DIR),
        resume=dict(type='bool', default=True),
        resume_from=dict(type='path'),
        require_resume=dict(type='bool', default=False),
        startup_timeout=dict(type='int', default=300),
        omp_threads=dict(type='int', default=1),
        precision=dict(type='str', default=_precision.DEFAULT_PRECISION, choices=list(_precision.PRECISIONS)),
        options=dict(type='dict', default={}),
        keep=dict(type='int', default=0),
        stop_timeout=dict(type='int', default=120),
        checkpoint_minutes=dict(type='int', default=10),
        interruption_notice=dict(type='str', default='none', choices=['none', 'ec2', 'gcp']),
        interruption_notice_url=dict(type='str', default=''),
        notify_command=dict(type='str', default='', no_log=True),
        stall_minutes=dict(type='int', default=30),
        patience=dict(type='int', default=0),
        min_delta=dict(type='float', default=0),
        supervision=dict(type='str', default='auto', choices=list(_supervision.MODES)),
        restart_limit=dict(type='int', default=5),
        restart_delay=dict(type='int', default=30),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    TrainManager(module).run()


if __name__ == '__main__':
    main()
