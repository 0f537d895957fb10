# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

"""The train module's work: check the options, plan what a task does to the run (keep it, stop it,
start it, or leave a finished one alone), then apply the plan. Check mode reports the plan."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import json
import os
import shutil
import sys

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import blas as _blas
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import checkpoints as _checkpoints
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import dataset as _dataset
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import files as _files
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import interruption_notice as _interruption_notice
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import early_stopping as _early_stopping
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import lstm_step as _lstm_step
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import notifications as _notifications
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import paths as _paths
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import probe as _probe
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import precision as _precision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import processes as _processes
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import requested_checkpoints as _requested_checkpoints
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import resources as _resources
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import resume as _resume
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import state as _state
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import screen as _screen
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import supervision as _supervision
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import th as _th
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._torch import threads as _threads
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._charrnn import flags as _flags
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import trainer as _trainer
from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._run import options as _options

# What a plan does to the run.
KEEP = 'keep'          # started, and it runs: nothing to do
STOP = 'stop'          # stopped: end it when it runs
FINISHED = 'finished'  # started, and it already trained to its end with these settings
START = 'start'        # start a run (restarted: after stopping the one that runs)


class Plan:
    """What applying would do: the action, the task result it would give, the warnings check mode
    shows, and what applying needs (status, th, dataset, resume)."""

    def __init__(self, action, result, status, warnings=None, **needs):
        self.action = action
        self.result = result
        self.status = status
        self.warnings = warnings or []
        self.needs = needs


class TrainManager:
    """Runs the train module on an AnsibleModule: TrainManager(module).run().

    started_by: who starts a run, as its record of events says; set when the run's systemd unit runs the
    module's plan (see _supervisor), which then leaves the unit itself alone.
    """

    def __init__(self, module, started_by=None):
        self.module = module
        self.in_unit = started_by is not None
        self.started_by = started_by or 'the train module'
        self.p = p = module.params
        self.check_params()
        self.flags = self.train_flags()
        self.chdir = _paths.resolve(p['chdir'], os.getcwd())
        self.checkpoint_dir = _paths.resolve(p['checkpoint_dir'], self.chdir)
        self.data_dir = _paths.resolve(p['data_dir'], self.chdir)
        self.log_path = _options.log_path(p, self.chdir, self.checkpoint_dir)
        self.savefile = _flags.flag_value(self.flags, 'savefile')
        self.resume_from = self.checked_resume_from()
        self.env = _threads.thread_env(p['threads'], p['omp_threads'],
                                       core=_blas.module_core_override(module, _th.find_th(p['th'])[0]))
        if _precision.needs_prelude(p['precision']):
            self.env.update(_requested_checkpoints.seconds_env(p['checkpoint_minutes']))
        self.prelude = _precision.prelude_path(self.log_path)
        screen_bin = module.get_bin_path('screen')
        if not screen_bin:
            module.fail_json(msg='GNU screen not found on PATH: install the screen package')
        self.trainer = _trainer.Trainer(self.checkpoint_dir, self.savefile, p['session'], self.log_path,
                                        screen_bin=screen_bin, runner=_screen.module_runner(module))
        self.unit = _supervision.Unit(p['session'], _screen.module_runner(module))
        self.result = dict(changed=False, session=p['session'], pid=None, command=[], log_path=self.log_path,
                           checkpoint_dir=self.checkpoint_dir, resumed_from=None, env=self.env, running=False,
                           finished=False, early_stop=None, precision=p['precision'], savefile=self.savefile,
                           supervision=self.supervision())

    def run(self):
        """Plan, then apply the plan (in check mode, report it); exits the module."""
        with self.locked():
            plan = self.plan()
            result = self.preview(plan) if self.module.check_mode else self.apply(plan)
        self.module.exit_json(**result)

    # ------------------------------------------------------------------ options

    def check_params(self):
        p = self.p
        # read only when a start would run the prelude that reads it
        lstm_step_error = (_lstm_step.mode_error(os.environ)
                           if p['state'] != 'stopped' and _precision.needs_prelude(p['precision']) else None)
        notice_error = _interruption_notice.check(p['interruption_notice'], p['interruption_notice_url'])
        early_stopping_error = _early_stopping.check(p['patience'], p['min_delta'])
        err = _options.check(
            p,
            (early_stopping_error, early_stopping_error),
            (p['omp_threads'] < 1, 'omp_threads must be >= 1, got %d' % p['omp_threads']),
            (p['keep'] < 0, 'keep must be 0 (keep every checkpoint) or more, got %d' % p['keep']),
            (p['stop_timeout'] < 0, 'stop_timeout must be >= 0, got %d' % p['stop_timeout']),
            (notice_error, notice_error),
            (p['stall_minutes'] < 0, 'stall_minutes must be 0 (no stall notice) or more, got %d' % p['stall_minutes']),
            (p['checkpoint_minutes'] < 0,
             'checkpoint_minutes must be 0 (no checkpoints asked for by time) or more, got %d'
             % p['checkpoint_minutes']),
            (p['startup_timeout'] < 1, 'startup_timeout must be >= 1, got %d' % p['startup_timeout']),
            (p['restart_limit'] < 0, 'restart_limit must be 0 (no restart after a failure) or more, got %d'
             % p['restart_limit']),
            (p['restart_delay'] < 1, 'restart_delay must be >= 1 (seconds), got %d' % p['restart_delay']),
            (p['require_resume'] and not p['resume'],
             'require_resume needs resume=true: a run that must resume cannot start from scratch'),
            (p['resume_from'] and not p['resume'],
             'resume_from needs resume=true: a run that starts from a checkpoint resumes'),
            (lstm_step_error, lstm_step_error))
        if err:
            self.module.fail_json(msg=err)

    def supervision(self):
        """How the run is supervised: {mode (systemd or none), unit, reason (why none)}. Fails the module
        when supervision=systemd cannot be had."""
        p = self.p
        reason = 'supervision=none' if p['supervision'] == 'none' else _supervision.unavailable_reason()
        if reason and p['supervision'] == 'systemd' and p['state'] != 'stopped' and not self.in_unit:
            self.module.fail_json(msg='supervision=systemd: %s. Nothing was stopped or started; set supervision '
                                      'to auto to train without it' % reason)
        mode = 'none' if reason else 'systemd'
        return {'mode': mode, 'unit': self.unit.name if mode == 'systemd' else None,
                'comes_back_after_reboot': mode == 'systemd' and p['state'] != 'stopped',
                'reason': 'the run will not come back after a restart of the host: %s' % reason if reason else None}

    def unit_text(self, th):
        """The unit of the run: the supervisor with the options this task gave, recorded beside the log."""
        p = self.p
        # the notify command stays in its own file; resume_from was brought in already
        params = dict(p, notify_command='', resume_from=None)
        params.update(th=th, chdir=self.chdir, log_path=self.log_path,
                      environment=_supervision.recorded_environment())
        _files.write_if_changed(_supervision.params_path(self.log_path),
                                json.dumps(params, indent=2, sort_keys=True).encode('utf-8'), mode=0o600)
        return _supervision.unit_text(p['session'], sys.executable, self.installed_code(),
                                      _supervision.params_path(self.log_path), self.chdir, p['stop_timeout'],
                                      p['restart_limit'], p['restart_delay'],
                                      backoff=self.unit.systemctl.version() >= 254)

    @staticmethod
    def installed_code():
        """The directory of this module's module_utils on the host, for the programs that run without
        Ansible: the systemd unit's supervisor and the early-stopping watcher."""
        # Imported here, not with the others: the supervisor imports this module. Imported at all so that
        # the code the unit runs is among the sources installed, under its own name even when it is the
        # process that is running this.
        from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils import _supervisor  # noqa: F401  pylint: disable=unused-import
        return _supervision.install_code(os.path.join(_supervision.data_home(), 'rnn_bootstrap.charrnn',
                                                      'supervisor'), _supervision.supervisor_sources())

    def supervise(self, th):
        """Puts the run under its unit (or takes it out, with supervision=none); returns whether that
        changed anything. The unit's own process never touches the unit."""
        if self.in_unit:
            return False
        try:
            if self.result['supervision']['mode'] == 'none':
                return self.p['supervision'] == 'none' and self.unit.remove()
            _supervision.mark_up(self.p['session'])
            return self.unit.install(self.unit_text(th))
        except (_supervision.SupervisionError, IOError, OSError) as e:
            self.module.fail_json(msg='cannot put the run under systemd unit %s: %s. The trainer runs; train again '
                                      'once that is fixed, or set supervision to none' % (self.unit.name, e),
                                  **dict((k, v) for k, v in self.result.items() if k != 'msg'))

    def stop_unit(self, disable):
        """Stops the run's unit before its trainer is stopped, so that it restarts nothing meanwhile."""
        if self.in_unit:
            return False
        try:
            return self.unit.stop(disable=disable)
        except _supervision.SupervisionError as e:
            self.module.fail_json(msg='cannot stop systemd unit %s: %s' % (self.unit.name, e))

    def checked_resume_from(self):
        """resume_from resolved against chdir, or None; fails the module when it is no checkpoint of the
        run's savefile that this user can read."""
        if not self.p['resume_from']:
            return None
        path = _paths.resolve(self.p['resume_from'], self.chdir)
        fail = self.module.fail_json
        problem = _checkpoints.file_problem(path)
        if problem:
            fail(msg='resume_from %s %s: bring the checkpoint to continue onto the host under the name char-rnn '
                     'gave it' % (path, problem))
        info = _checkpoints.parse_name(path)
        if _checkpoints.run_number(info['savefile'], self.savefile) is None:
            fail(msg="resume_from %s is a checkpoint of savefile '%s', and the run's savefile is '%s': set options."
                     "savefile to '%s' to continue that model" % (path, info['savefile'], self.savefile,
                                                                  _checkpoints.base_savefile(info['savefile'])))
        return path

    def train_flags(self):
        try:
            return _flags.validate_options(self.p['options'])
        except _flags.OptionError as e:
            self.module.fail_json(msg=str(e))

    def base_argv(self, th):
        """The command asked for, without the resume point and the run savefile."""
        p = self.p
        return _flags.build_train_argv(th, self.flags, p['data_dir'], p['checkpoint_dir'], p['gpuid'],
                                       precision=p['precision'], prelude=self.prelude)

    def run_command(self, th, resumed, also=None):
        """(the savefile the new run writes under, its argv); also: checkpoints that count as present."""
        p = self.p
        run_save = _checkpoints.run_savefile(self.checkpoint_dir, self.savefile, also=also)
        return run_save, _flags.build_train_argv(th, self.flags, p['data_dir'], p['checkpoint_dir'], p['gpuid'],
                                                 init_from=resumed, savefile=run_save,
                                                 precision=p['precision'], prelude=self.prelude)

    # ------------------------------------------------------------------ plan

    def locked(self):
        """The session's lock for a real run; check mode changes nothing and takes none."""
        if self.module.check_mode:
            return _NoLock()
        lock = self.trainer.lock()
        return _LockOrFail(lock, self.module)

    def plan(self):
        p, result = self.p, self.result
        status = self.trainer.status(search_sessions=True)
        if p['state'] == 'stopped':
            if status['running']:
                self.recorded(status)
            unit_runs = not self.in_unit and _supervision.active(self.unit.props())
            return Plan(STOP, dict(result, changed=status['running'] or unit_runs, running=False), status)
        if p['state'] == 'started' and status['running']:
            self.recorded(status)
            return Plan(KEEP, dict(result), status)
        if p['state'] == 'started':
            th, dummy = _th.find_th(p['th'])
            done = self.trainer.finished(self.base_argv(th), self.env) if th else None
            if done:
                # started does not train again what already trained to the end with the same settings
                early = done['early_stop']
                result.update(command=done.get('command') or [], finished=True, early_stop=early,
                              precision=_precision.precision_of(done.get('command')) or p['precision'],
                              savefile=_flags.argv_flag(done.get('command'), 'savefile'),
                              msg='training with these settings already ran to its last iteration; '
                                  'use state=restarted to train again' if not early else
                                  'early stopping ended training with these settings at iteration %d (best '
                                  'checkpoint %s); use state=restarted to resume it' % (early['iteration'],
                                                                                        early['best']))
                return Plan(FINISHED, dict(result), status)
        th, dataset = self.preflight()
        # Decide before stopping anything: a run that must resume fails here, having changed nothing.
        resumed, truncated = self.resume_point(trainer_running=status['running'])
        imported = self.import_source(resumed)
        resume = self.resume_plan(th, dataset, imported or resumed)
        memory, memory_warning = self.memory_check(dataset, resume, freed=freed_memory(status))
        resume_from = self.imported_path(imported) if imported else resume['resume_from']
        run_save, argv = self.run_command(th, resume_from, also=[imported] if imported else None)
        warnings = []
        if resume['not_resumed']:
            warnings.append(not_resumed_warning(resume, run_save))
        if memory_warning:
            warnings.append(memory_warning)
        planned = dict(result, changed=True, command=argv, dataset=dataset, running=True,
                       resumed_from=resume_from, imported_from=imported, savefile=run_save,
                       set_aside=[t + '.incomplete' for t in truncated], not_resumed=resume['not_resumed'],
                       memory=memory)
        if status['running']:
            planned['stopped_pids'] = [status['pid']] if status['pid'] else []
        return Plan(START, planned, status, warnings, th=th, dataset=dataset, resumed=resumed, resume=resume,
                    imported=imported, memory=memory, memory_warning=memory_warning)

    def recorded(self, status):
        """The result describes the run that runs, as the state file recorded it."""
        st, res = status['state'], self.result
        res['pid'] = status['pid']
        res['running'] = True
        res['command'] = st.get('command') or []
        if st.get('command'):
            res['savefile'] = _flags.argv_flag(st['command'], 'savefile')
        res['resumed_from'] = st.get('resumed_from')
        res['precision'] = _precision.precision_of(res['command']) or res['precision']
        if st.get('env'):
            res['env'] = st['env']

    def preflight(self):
        """Checks before a start; fails the module with what to fix. Returns (th, dataset)."""
        module, p, fail = self.module, self.p, self.module.fail_json
        chdir, log_path = self.chdir, self.log_path
        if not os.path.isdir(chdir):
            fail(msg="chdir %s is not a directory: set chdir to the char-rnn checkout" % chdir)
        if not os.path.isfile(os.path.join(chdir, 'train.lua')):
            fail(msg="train.lua not found in chdir %s: set chdir to the char-rnn checkout "
                     "(git clone https://github.com/karpathy/char-rnn)" % chdir)
        th, err = _th.find_th(p['th'])
        if err:
            fail(msg=err)
        try:
            dataset, warnings = _dataset.check_dataset(self.data_dir, self.flags, data_dir_shown=p['data_dir'])
        except _flags.OptionError as e:
            fail(msg=str(e))
        err = _files.dir_writable_error(self.checkpoint_dir, 'checkpoint_dir')
        if err:
            fail(msg=err)
        err = _resources.disk_space_error(self.checkpoint_dir, self.flags, dataset, keep=p['keep'])
        if err:
            fail(msg=err)
        err = _files.dir_writable_error(os.path.dirname(log_path), 'log directory')
        if err:
            fail(msg=err)
        if os.path.isdir(log_path):
            fail(msg="log_path %s is a directory: set log_path to a file" % log_path)
        if os.path.exists(log_path) and not os.access(log_path, os.W_OK):
            fail(msg="log_path %s is not writable by this user (uid %d)" % (log_path, os.getuid()))
        for w in warnings:
            module.warn(w)
        return th, dataset

    def resume_point(self, trainer_running=False):
        """(checkpoint to resume from or None, truncated checkpoints a dead trainer left)."""
        resumed, truncated = self.trainer.resume_point(trainer_running)
        return (resumed if self.p['resume'] else None), truncated

    def import_source(self, resumed):
        """resume_from when the run would otherwise have nothing to resume from, else None (a warning says
        why it is left alone)."""
        if not self.resume_from or not self.p['resume']:
            return None
        if resumed:
            self.module.warn('resume_from %s is left alone: %s already has checkpoints of savefile %s, and the '
                             'run resumes from the latest of them (%s)'
                             % (self.resume_from, self.checkpoint_dir, self.savefile, resumed))
            return None
        return self.resume_from

    def imported_path(self, source):
        """Where resume_from is copied to: checkpoint_dir, under its own name."""
        return os.path.join(self.checkpoint_dir, os.path.basename(source))

    def import_checkpoint(self, source):
        """Copies resume_from into checkpoint_dir (keeping its time, so that later checkpoints are newer) and
        returns the copy's path; fails the module, having stopped and started nothing, when it cannot."""
        dest = self.imported_path(source)
        tmp = '%s.%d.tmp' % (dest, os.getpid())
        try:
            _files.makedirs(self.checkpoint_dir)
            shutil.copyfile(source, tmp)
            shutil.copystat(source, tmp)
        except (IOError, OSError) as e:
            if os.path.exists(tmp):
                os.unlink(tmp)
            self.module.fail_json(msg='cannot copy resume_from %s to %s: %s; nothing was stopped or started'
                                      % (source, dest, e))
        self.module.atomic_move(tmp, dest)
        return dest

    def resume_plan(self, th, dataset, checkpoint):
        """Whether the run can continue `checkpoint` as asked (see _resume): a dict with resume_from (the
        checkpoint, or None), not_resumed ({checkpoint, differences} or None), probe and vocab_size. Fails
        the module when require_resume cannot be met."""
        plan = {'resume_from': None, 'not_resumed': None, 'probe': None, 'vocab_size': None}
        if checkpoint:
            # The loader reads vocab.t7 when it is up to date, else it builds the vocabulary from input.txt.
            vocab_t7 = None if dataset['needs_preprocessing'] else os.path.join(self.data_dir, 'vocab.t7')
            rc, out, err, probe = _probe.run_probe(self.module.run_command, th, self.chdir, checkpoint,
                                                   vocab_file=vocab_t7)
            if probe['kind'] is None:
                self.module.fail_json(msg='th could not load checkpoint %s to check that training can resume from '
                                          'it (exit status %d): %s' % (checkpoint, rc, (err or out).strip()[-2000:]))
            vocab = probe['dataset_vocab']
            if vocab is None:
                vocab = _resume.input_vocabulary(os.path.join(self.data_dir, 'input.txt'))
            plan.update(probe=probe, vocab_size=len(vocab))
            differences = _resume.differences(probe, vocab, self.flags,
                                              dataset_shown='%s/input.txt' % self.p['data_dir'])
            if differences:
                plan['not_resumed'] = {'checkpoint': checkpoint, 'differences': differences}
            else:
                plan['resume_from'] = checkpoint
        err = self.require_resume_error(plan)
        if err:
            self.module.fail_json(msg=err, not_resumed=plan['not_resumed'], **dict(
                (k, v) for k, v in self.result.items() if k != 'msg'))
        return plan

    def require_resume_error(self, plan):
        """With require_resume, or a resume_from the run starts from, why the run cannot resume; else None."""
        if plan['resume_from']:
            return None
        if self.resume_from and plan['not_resumed'] and plan['not_resumed']['checkpoint'] == self.resume_from:
            return ('resume_from: training cannot resume from %s: %s. Nothing was copied, stopped or started. Train '
                    'with the dataset and architecture of that checkpoint, or leave resume_from out to train a new '
                    'model' % (self.resume_from, '; '.join(plan['not_resumed']['differences'])))
        if not self.p['require_resume']:
            return None
        if plan['not_resumed']:
            return ('require_resume: training cannot resume from %s: %s. Nothing was stopped or started. Train '
                    'with the dataset and architecture of that checkpoint, or set require_resume to false to '
                    'train a new model from scratch under a new run savefile (the checkpoints stay)'
                    % (plan['not_resumed']['checkpoint'], '; '.join(plan['not_resumed']['differences'])))
        return ("require_resume: there is no complete checkpoint of savefile '%s' in %s to resume from. Nothing "
                "was stopped or started. Set require_resume to false to train from scratch"
                % (self.savefile, self.checkpoint_dir))

    def memory_check(self, dataset, plan, freed=0):
        """(the RV memory dict, a warning or None) for the model the run will train on this corpus."""
        flags = self.flags
        model = _resume.effective_model(flags, plan['probe'] if plan['resume_from'] else None)
        estimate = _resources.estimate_memory_bytes(
            model['model'], model['rnn_size'], model['num_layers'], plan['vocab_size'] or _resources.MAX_VOCAB,
            _flags.flag_value(flags, 'seq_length'), _flags.flag_value(flags, 'batch_size'),
            dataset['input_bytes'], needs_preprocessing=dataset['needs_preprocessing'])
        available = _resources.available_memory_bytes()
        warning = _resources.memory_warning(estimate, available, freed=freed)
        mib = 1 << 20
        return ({'estimated_mib': _resources.mib_up(estimate['total']),
                 'available_mib': None if available is None else (available + freed) // mib,
                 'fits': warning is None}, warning)

    # ------------------------------------------------------------------ apply

    def preview(self, plan):
        """Check mode: the plan's result and warnings, nothing changed."""
        for w in plan.warnings:
            self.module.warn(w)
        return plan.result

    def apply(self, plan):
        """Do what the plan says; returns the task result."""
        if plan.action == STOP:
            return self.apply_stop(plan.status)
        if plan.action == KEEP:
            self.warn_about_the_running_session(plan.status)
            if self.supervise(_th.find_th(self.p['th'])[0]):
                self.result['changed'] = True
        if plan.action == START:
            self.apply_start(plan)
        return self.result

    def apply_stop(self, status):
        result = self.result
        unit_changed = self.stop_unit(disable=True)
        if unit_changed:
            status = self.trainer.status(search_sessions=True)
        if status['running']:
            result['stopped_pids'] = self.trainer.stop(status, self.p['stop_timeout'])
            result['changed'] = True
        else:
            result['stopped_pids'] = []
            result['command'] = status['state'].get('command') or []
        if unit_changed or status['running']:
            result['changed'] = True
            self.trainer.mark_stopped()
            _supervision.record_event(self.log_path, 'stopped', by=self.started_by, pids=result['stopped_pids'])
        result['running'] = False
        result['pid'] = None
        return result

    def warn_about_the_running_session(self, status):
        p, st, warn = self.p, status['state'], self.module.warn
        th, err = _th.find_th(p['th'])
        if not st:
            warn('session %s runs but was not started by this module (no state file %s): '
                 'cannot compare its command' % (p['session'], _paths.state_path(self.log_path)))
        elif th and (_precision.current_argv(st.get('base_command')) != self.base_argv(th) or
                     not _threads.same_settings(st.get('env'), self.env)):
            precision_change = _precision.difference(st.get('base_command'), p['precision'])
            warn('session %s already runs a different command%s: %s (env %s); asked for: %s (env %s). '
                 'Use state=restarted to apply the change.'
                 % (p['session'], ' (%s)' % precision_change if precision_change else '',
                    ' '.join(st.get('base_command') or []), st.get('env'), ' '.join(self.base_argv(th)), self.env))
        if not status['alive']:
            warn('screen session %s is gone but its trainer (pid %s) still runs' % (p['session'], status['pid']))

    def lineage(self, run_save, resumed_from):
        """The savefiles of the model the new run trains: its own, and when it resumes, the savefile of the
        checkpoint it continues with that run's lineage (as the state recorded it, when it is that run). keep
        prunes their checkpoints together and never those of another model."""
        if not resumed_from:
            return [run_save]
        continued = _checkpoints.parse_name(resumed_from)['savefile']
        previous = _state.read_state(self.log_path)
        earlier = previous.get('lineage') if _flags.argv_flag(previous.get('command'), 'savefile') == continued \
            else None
        return sorted(set((earlier or [continued]) + [run_save]))

    def helpers(self, resumed_from):
        """(the programs that run beside the new trainer, the one that runs after it): the interruption notice
        watcher, the early-stopping watcher and the notifier, as the options ask for them."""
        p, pid_file = self.p, _paths.pid_path(self.log_path)
        helpers, after = [], None
        watcher = _interruption_notice.watcher_argv(sys.executable, p['interruption_notice'],
                                                    p['interruption_notice_url'], pid_file, self.log_path)
        if watcher:
            helpers.append(watcher)
        if p['patience']:
            try:
                code_dir = self.installed_code()
            except (_supervision.SupervisionError, IOError, OSError) as e:
                self.module.fail_json(msg='cannot install the early-stopping watcher: %s; set patience to 0 to '
                                          'train without early stopping' % e)
            helpers.append(_early_stopping.watcher_argv(sys.executable, code_dir, self.log_path, pid_file,
                                                        p['patience'], p['min_delta'],
                                                        _flags.flag_value(self.flags, 'eval_val_every')))
        if p['notify_command']:
            try:
                _notifications.write_command(self.log_path, p['notify_command'])
            except (IOError, OSError) as e:
                self.module.fail_json(msg='cannot keep the notify command in %s: %s'
                                          % (_notifications.command_path(self.log_path), e))
            notifier = functools.partial(_notifications.notifier_argv, sys.executable, log_path=self.log_path,
                                         session=p['session'], pid_file=pid_file,
                                         stall_seconds=p['stall_minutes'] * 60)
            helpers.append(notifier('watch', resumed_from=resumed_from))
            after = notifier('end')
        else:
            _notifications.forget_command(self.log_path)
        return helpers, after

    def apply_start(self, plan):
        module, p, result, status = self.module, self.p, self.result, plan.status
        th, dataset, resume = plan.needs['th'], plan.needs['dataset'], plan.needs['resume']
        if _precision.needs_prelude(p['precision']):
            # Before a running trainer is stopped: a prelude that cannot be written changes nothing.
            try:
                _files.makedirs(os.path.dirname(self.prelude))
                _precision.install_prelude(self.prelude)
            except (IOError, OSError) as e:
                module.fail_json(msg='cannot write the train.lua prelude %s: %s; fix the permissions of its '
                                     'directory or set precision=double to run train.lua without it'
                                     % (self.prelude, e))
        # Before a running trainer is stopped: a checkpoint that cannot be brought in changes nothing.
        result['imported_from'] = plan.needs['imported']
        imported = self.import_checkpoint(plan.needs['imported']) if plan.needs['imported'] else None
        if self.stop_unit(disable=False):
            status = self.trainer.status(search_sessions=True)
        if status['running']:  # restarted
            result['stopped_pids'] = self.trainer.stop(status, p['stop_timeout'])
        elif p['state'] == 'restarted':
            result['stopped_pids'] = []
        resumed_now, truncated = self.resume_point()
        if imported:  # as planned and checked, whatever the stopped trainer saved meanwhile
            resume = dict(resume, resume_from=imported)
        elif resumed_now != plan.needs['resumed']:  # the stopped trainer finished a checkpoint meanwhile
            resume = self.resume_plan(th, dataset, resumed_now)
        result['set_aside'] = self.trainer.set_aside(truncated)
        for path in result['set_aside']:
            module.warn('the last trainer died while writing %s: renamed it so that nothing takes it for a '
                        'checkpoint' % path)
        run_save, argv = self.run_command(th, resume['resume_from'])
        if resume['not_resumed']:
            module.warn(not_resumed_warning(resume, run_save))
        if plan.needs['memory_warning']:
            module.warn(plan.needs['memory_warning'])
        record = dict(base_command=self.base_argv(th), checkpoint_dir=p['checkpoint_dir'], data_dir=p['data_dir'],
                      resumed_from=resume['resume_from'],
                      early_stopping={'patience': p['patience'], 'min_delta': p['min_delta']} if p['patience'] else None)
        if not _precision.needs_prelude(p['precision']):
            module.warn('precision=double runs char-rnn\'s train.lua itself, without the prelude: the trainer saves '
                        'no checkpoint when it is stopped and none every checkpoint_minutes, so a stop, a reboot '
                        'or a power loss loses the iterations since its last checkpoint (eval_val_every). '
                        'precision=float has both')
        helpers, after = self.helpers(resume['resume_from'])
        lineage = self.lineage(run_save, resume['resume_from'])
        try:
            pid, warnings = self.trainer.start(self.chdir, argv, record, self.env, stdbuf=module.get_bin_path('stdbuf'),
                                               keep=p['keep'], startup_timeout=p['startup_timeout'],
                                               exec_prefix=_requested_checkpoints.trainer_exec(
                                                   sys.executable, _precision.needs_prelude(p['precision'])),
                                               helpers=helpers, after=after, lineage=lineage)
        except _trainer.TrainerError as e:
            module.fail_json(msg=e.msg, **e.details)
        for w in warnings:
            module.warn(w)
        result.update(changed=True, pid=pid, command=argv, resumed_from=resume['resume_from'], dataset=dataset,
                      running=pid is not None, savefile=run_save, not_resumed=resume['not_resumed'],
                      memory=plan.needs['memory'])
        _supervision.record_event(self.log_path, 'started', by=self.started_by, pid=pid, savefile=run_save,
                                  resumed_from=resume['resume_from'])
        _precision.forget_former(self.log_path)
        if pid is not None:
            self.supervise(th)


def freed_memory(status):
    """Memory the trainer a restart stops gives back (its resident size)."""
    return _processes.resident_bytes(status['pid']) if status['running'] and status['pid'] else 0


def not_resumed_warning(plan, run_save):
    return ('not resuming from %s: %s. Training a new model from scratch under savefile %s; the earlier '
            'checkpoints stay (set require_resume to fail instead)'
            % (plan['not_resumed']['checkpoint'], '; '.join(plan['not_resumed']['differences']), run_save))


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _LockOrFail:
    """The lock, failing the module with the reason when it cannot be taken."""

    def __init__(self, lock, module):
        self.lock = lock
        self.module = module

    def __enter__(self):
        try:
            self.lock.__enter__()
        except (IOError, OSError) as e:
            self.module.fail_json(msg='cannot lock %s: %s' % (self.lock.path, e))
        return self

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)
