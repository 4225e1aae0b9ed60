%% The Erlang/OTP side of the issue 9 benchmark: release_handler:
%% install_release/1 upgrading a real release (kernel, stdlib, sasl,
%% counterapp) from 1 to 2 while N counter gen_servers run under
%% counter_sup and client processes keep calling them.
%%
%% Two entry points, each run in its own VM by bench/erlang/run.sh:
%%
%%   build(Work, Lib): in a plain build VM. Writes the .rel files of
%%     counterrel 1 and 2 (kernel, stdlib, sasl, counterapp), makes the
%%     boot scripts (systools:make_script), the relup 1 -> 2 from
%%     counterapp-2's appup (systools:make_relup) and both release
%%     packages (systools:make_tar; ERTS in the first), then a target
%%     root WORK/target from package 1: extracted, RELEASES written by
%%     release_handler:create_RELEASES, bin/erl, start_erl.data, and
%%     package 2 waiting in releases/.
%%
%%   main(N, timing | pauses): inside a node of that target (restored
%%     before each run), started by its bin/erl with -boot releases/1/start
%%     -config releases/1/sys, so that SASL's release_handler works on it.
%%     unpack_release("counterrel-2"), start N counters, 8 clients, then
%%     time install_release("2"). Prints `install_<N>_*` lines: as
%%     upgrade_bench does, the untraced timing run gives _seconds,
%%     _failed_calls, _call_max_ms, _call_p99_ms and the traced pauses run
%%     (receipt of sys suspend/resume) _pause_max_ms, _pause_p99_ms.
-module(release_bench).
-export([build/2, main/2]).

-define(REL, "counterrel").
-define(CLIENTS, 8).
-define(WARMUP_MS, 500).
-define(SETTLE_MS, 300).

%% --- build VM: releases and the target root ---

build(Work, Lib) ->
    try
        do_build(Work, Lib)
    catch
        C:E:St ->
            progress("release_bench build failed: ~p:~p ~p", [C, E, St]),
            halt(1)
    end,
    halt(0).

do_build(Work, Lib) ->
    Rel = filename:join(Work, "rel"),
    Path = [filename:join([Lib, "counterapp-" ++ V, "ebin"]) || V <- ["1", "2"]],
    [write_rel(Rel, V) || V <- ["1", "2"]],
    Opts = [{path, Path}, silent],
    [{ok, _, _} = systools:make_script(rel_name(Rel, V), [{outdir, rel_dir(Rel, V)} | Opts])
     || V <- ["1", "2"]],
    {ok, _, _, _} = systools:make_relup(rel_name(Rel, "2"), [rel_name(Rel, "1")],
                                        [rel_name(Rel, "1")],
                                        [{outdir, rel_dir(Rel, "2")} | Opts]),
    {ok, _, _} = systools:make_tar(rel_name(Rel, "1"),
                                   [{outdir, Rel}, {erts, code:root_dir()} | Opts]),
    {ok, _, _} = systools:make_tar(rel_name(Rel, "2"), [{outdir, Rel} | Opts]),
    make_target(Rel, filename:join(Work, "target")),
    progress("releases 1 and 2 and the target root made in ~s", [Work]).

%% RelDir/V/counterrel-V.rel (and sys.config beside it, which make_tar
%% puts in releases/V/).
write_rel(Rel, V) ->
    ok = filelib:ensure_dir(filename:join(rel_dir(Rel, V), "x")),
    Apps = [{A, app_vsn(A)} || A <- [kernel, stdlib, sasl]] ++ [{counterapp, V}],
    Term = {release, {?REL, V}, {erts, erlang:system_info(version)}, Apps},
    ok = file:write_file(rel_name(Rel, V) ++ ".rel", io_lib:format("~p.~n", [Term])),
    ok = file:write_file(filename:join(rel_dir(Rel, V), "sys.config"),
                         "[{kernel, [{logger_level, notice}]}].\n").

app_vsn(App) ->
    case application:load(App) of
        ok -> ok;
        {error, {already_loaded, App}} -> ok
    end,
    {ok, Vsn} = application:get_key(App, vsn),
    Vsn.

rel_dir(Rel, V) -> filename:join(Rel, V).
rel_name(Rel, V) -> filename:join(rel_dir(Rel, V), ?REL ++ "-" ++ V).

%% A target root as in OTP's target-system recipe: package 1 extracted,
%% RELEASES with 1 permanent, start_erl.data, bin/erl (the launcher that
%% makes this directory the node's root), package 2 ready to unpack.
make_target(Rel, Target) ->
    ok = del_tree(Target),
    ok = erl_tar:extract(filename:join(Rel, ?REL ++ "-1.tar.gz"),
                         [{cwd, Target}, compressed]),
    RelDir = filename:join(Target, "releases"),
    ok = release_handler:create_RELEASES(Target, RelDir,
                                         filename:join(RelDir, ?REL ++ "-1.rel"), []),
    Erts = erlang:system_info(version),
    ok = file:write_file(filename:join(RelDir, "start_erl.data"), [Erts, " 1\n"]),
    Bin = filename:join(Target, "bin"),
    ok = filelib:ensure_dir(filename:join(Bin, "x")),
    Erl = filename:join(Bin, "erl"),
    ok = file:write_file(Erl, launcher(Erts)),
    ok = file:change_mode(Erl, 8#755),
    {ok, _} = file:copy(filename:join(Rel, ?REL ++ "-2.tar.gz"),
                        filename:join(RelDir, ?REL ++ "-2.tar.gz")),
    ok.

%% OTP's erl.src with ROOTDIR found from the script's own place, so that
%% a copy of the target runs from where it is.
launcher(Erts) ->
    ["#!/bin/sh\n",
     "ROOTDIR=$(cd \"$(dirname \"$0\")/..\" && pwd)\n",
     "BINDIR=$ROOTDIR/erts-", Erts, "/bin\n",
     "EMU=beam\n",
     "PROGNAME=erl\n",
     "export EMU ROOTDIR BINDIR PROGNAME\n",
     "exec \"$BINDIR/erlexec\" \"$@\"\n"].

del_tree(Dir) ->
    case file:del_dir_r(Dir) of
        ok -> ok;
        {error, enoent} -> ok
    end.

%% --- target node: unpack, then install under client load ---

main(N, Mode) ->
    try
        run(N, Mode =:= pauses)
    catch
        C:E:St ->
            progress("release_bench ~p failed: ~p:~p ~p", [N, C, E, St]),
            halt(1)
    end,
    halt(0).

run(N, Trace) ->
    [{?REL, "1", _, permanent}] = release_handler:which_releases(),
    {ok, "2"} = release_handler:unpack_release(?REL ++ "-2"),
    T0 = upgrade_bench:now_native(),
    Pids = list_to_tuple([begin {ok, P} = supervisor:start_child(counter_sup, []), P end
                          || _ <- lists:seq(1, N)]),
    progress("~b counters started in ~.3f s", [N, seconds(upgrade_bench:now_native() - T0)]),
    Tracer = case Trace of
                 true -> upgrade_bench:trace_start(Pids);
                 false -> none
             end,
    Clients = [spawn_link(fun() -> upgrade_bench:client_start(Pids) end)
               || _ <- lists:seq(1, ?CLIENTS)],
    timer:sleep(?WARMUP_MS),
    W = install("2"),
    upgrade_bench:check_state(Pids, fun({C, R}) -> is_integer(C) andalso is_list(R) end),
    check_release(),
    timer:sleep(?SETTLE_MS),
    Calls = upgrade_bench:stop_clients(Clients),
    Pauses = case Tracer of
                 none -> [];
                 _ -> upgrade_bench:trace_stop(Tracer)
             end,
    upgrade_bench:report("install", N, W, Calls, Pauses),
    upgrade_bench:check_counts(Pids, Calls).

install(Vsn) ->
    T0 = upgrade_bench:now_native(),
    Res = release_handler:install_release(Vsn),
    T1 = upgrade_bench:now_native(),
    {ok, "1", _} = Res,
    progress("install_release(~p) in root ~s: ~.3f s",
             [Vsn, code:root_dir(), seconds(T1 - T0)]),
    {T0, T1}.

%% 2 is current, 1 still permanent, and counter runs from lib/counterapp-2.
check_release() ->
    Rels = [{V, S} || {_, V, _, S} <- release_handler:which_releases()],
    [{"1", permanent}, {"2", current}] = lists:sort(Rels),
    "counterapp-2" = filename:basename(code:lib_dir(counterapp)),
    ok.

seconds(Native) -> upgrade_bench:seconds(Native).
progress(Fmt, Args) -> upgrade_bench:progress(Fmt, Args).
