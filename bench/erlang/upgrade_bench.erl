%% The Erlang/OTP side of the issue 3 benchmark: upgrade N counter
%% gen_servers (simple_one_for_one children of counter_sup in the
%% counterapp application) from v1 to v2 with OTP's own release_handler_1
%% evaluating the low-level script, while client processes keep calling
%% random counters; optionally downgrade them back to v1 afterwards.
%%
%% Run by bench/erlang/run.sh in a fresh VM per measurement:
%%   erl -noshell -pa LIB/counterapp-1/ebin -pa EBIN \
%%       -eval 'upgrade_bench:main(N, "LIB", Down, timing | pauses)'
%% Prints `upgrade_<N>_*` (and with Down = true `downgrade_<N>_*`) lines.
%%
%% timing: no instrumentation. _seconds is the wall time of eval_script.
%% Every client call records its start and latency; _call_max_ms and
%% _call_p99_ms are the max and 99th percentile (nearest rank) of the
%% latencies of the calls that overlap the evaluation window, and
%% _failed_calls counts those that got no reply within the gen_server
%% default of 5 s (or exited).
%%
%% pauses: the same run with the counters' receipt of the sys suspend and
%% resume messages traced (erlang:trace 'receive' with a match spec, so
%% that nothing else is traced). A counter's pause is the time from its
%% suspension to its resume; _pause_max_ms and _pause_p99_ms are over all
%% N counters. Tracing slows OTP's evaluation somewhat, hence the separate
%% timing run.
-module(upgrade_bench).
-export([main/4]).
%% Shared with release_bench (the install_release benchmark), so that both
%% measure clients, pauses and checks the same way.
-export([client_start/1, stop_clients/1, trace_start/1, trace_stop/1,
         check_state/2, check_counts/2, report/5, now_native/0, seconds/1,
         progress/2]).

-define(CLIENTS, 8).
-define(CALL_TIMEOUT, 5000).
-define(WARMUP_MS, 500).
-define(SETTLE_MS, 300).

%% Mode = timing: no tracing; prints _seconds, _failed_calls, _call_*.
%% Mode = pauses: with receive tracing; prints _pause_max_ms, _pause_p99_ms.
main(N, Lib, Down, Mode) ->
    try
        run(N, Lib, Down, Mode =:= pauses)
    catch
        C:E:St ->
            progress("upgrade_bench ~p failed: ~p:~p ~p", [N, C, E, St]),
            halt(1)
    end,
    halt(0).

run(N, Lib, Down, Trace) ->
    ok = application:start(counterapp),
    T0 = now_native(),
    Pids = list_to_tuple([begin {ok, P} = supervisor:start_child(counter_sup, []), P end
                          || _ <- lists:seq(1, N)]),
    progress("~b counters started in ~.3f s", [N, seconds(now_native() - T0)]),
    Tracer = case Trace of
                 true -> trace_start(Pids);
                 false -> none
             end,
    Clients = [spawn_link(fun() -> client_start(Pids) end) || _ <- lists:seq(1, ?CLIENTS)],
    timer:sleep(?WARMUP_MS),
    Up = eval(up_script(), Lib, "2"),
    check_state(Pids, fun({C, R}) -> is_integer(C) andalso is_list(R) end),
    timer:sleep(?SETTLE_MS),
    Dn = case Down of
             true ->
                 W = eval(down_script(), Lib, "1"),
                 check_state(Pids, fun(C) -> is_integer(C) end),
                 timer:sleep(?SETTLE_MS),
                 W;
             false ->
                 none
         end,
    Calls = stop_clients(Clients),
    Pauses = case Tracer of
                 none -> [];
                 _ -> trace_stop(Tracer)
             end,
    report("upgrade", N, Up, Calls, Pauses),
    case Dn of
        none -> ok;
        _ -> report("downgrade", N, Dn, Calls, Pauses)
    end,
    check_counts(Pids, Calls).

%% The scripts systools would make for {update, counter, {advanced, []}}
%% (a dynamic module): on the way down code_change runs before the load.
up_script() ->
    [{load_object_code, {counterapp, "2", [counter]}},
     point_of_no_return,
     {suspend, [counter]},
     {load, {counter, brutal_purge, brutal_purge}},
     {code_change, up, [{counter, []}]},
     {resume, [counter]},
     {purge, [counter]}].

down_script() ->
    [{load_object_code, {counterapp, "1", [counter]}},
     point_of_no_return,
     {suspend, [counter]},
     {code_change, down, [{counter, []}]},
     {load, {counter, brutal_purge, brutal_purge}},
     {resume, [counter]},
     {purge, [counter]}].

%% release_handler_1:eval_script(Script, Apps, LibDirs, NewLibs, Opts) is
%% what release_handler:install_release calls once it has the script;
%% LibDirs names the directory of each application's version to load from.
eval(Script, Lib, Vsn) ->
    LibDirs = [{counterapp, Vsn, filename:join(Lib, "counterapp-" ++ Vsn)}],
    T0 = now_native(),
    Res = release_handler_1:eval_script(Script, [], LibDirs, [], []),
    T1 = now_native(),
    {ok, _Unpurged} = Res,
    progress("eval_script to ~s: ~.3f s", [Vsn, seconds(T1 - T0)]),
    {T0, T1}.

check_state(Pids, Ok) ->
    [true = Ok(sys:get_state(element(I, Pids))) || I <- [1, tuple_size(Pids)]],
    ok.

%% Every incr a client sent was handled exactly once: the counters' sum is
%% the number of calls made (a timed-out call may still have been handled).
check_counts(Pids, Calls) ->
    Sum = lists:sum([gen_server:call(P, get) || P <- tuple_to_list(Pids)]),
    case Sum =:= length(Calls) of
        true -> ok;
        false -> progress("WARNING: counters sum to ~b, clients made ~b calls",
                          [Sum, length(Calls)])
    end.

report(What, N, {W0, W1}, Calls, Pauses) ->
    Ms = fun(Native) -> erlang:convert_time_unit(Native, native, microsecond) / 1000 end,
    Pre = What ++ "_" ++ integer_to_list(N),
    Ps = lists:sort([P || {At, P} <- Pauses, At >= W0, At =< W1]),
    In = [{Lat, Res} || {Start, Lat, Res} <- Calls, Start < W1, Start + Lat > W0],
    Lats = lists:sort([L || {L, _} <- In]),
    progress("~s: ~b processes paused, ~b calls overlapped the window",
             [Pre, length(Ps), length(In)]),
    case length(Ps) of
        N -> ok;
        0 -> ok;
        Got -> progress("WARNING: ~s paused ~b of ~b counters", [Pre, Got, N])
    end,
    case Ps of
        [] -> % timing run
            line(Pre ++ "_seconds", seconds(W1 - W0), "s"),
            line(Pre ++ "_failed_calls", length([x || {_, fail} <- In]), "calls"),
            line(Pre ++ "_call_max_ms", Ms(last(Lats)), "ms"),
            line(Pre ++ "_call_p99_ms", Ms(pct(Lats, 99)), "ms");
        _ -> % traced run
            line(Pre ++ "_pause_max_ms", Ms(last(Ps)), "ms"),
            line(Pre ++ "_pause_p99_ms", Ms(pct(Ps, 99)), "ms")
    end.

last([]) -> 0;
last(L) -> lists:last(L).

%% --- per-process pause: from suspension to resume, by receive tracing ---

%% Trace the receipt of sys suspend and resume messages by the counters
%% (a match spec on 'receive' events: other messages are not traced).
trace_start(Pids) ->
    Tracer = spawn_link(fun() -> tracer_loop([]) end),
    Sys = fun(Req) -> {['_', '_', {system, '_', Req}], [], []} end,
    erlang:trace_pattern('receive', [Sys(suspend), Sys(resume)], []),
    [erlang:trace(P, true, ['receive', monotonic_timestamp, {tracer, Tracer}])
     || P <- tuple_to_list(Pids)],
    Tracer.

%% Keep the raw events; pair them up only at the end.
tracer_loop(Acc) ->
    receive
        {trace_ts, P, 'receive', {system, _, Req}, T} ->
            tracer_loop([{P, T, Req} | Acc]);
        {stop, From} ->
            From ! {events, self(), Acc}
    end.

%% [{SuspendedAt, Pause}] (native units), once every trace message is in.
trace_stop(Tracer) ->
    erlang:trace(all, false, ['receive']),
    Ref = erlang:trace_delivered(all),
    receive {trace_delivered, all, Ref} -> ok end,
    Tracer ! {stop, self()},
    Events = receive {events, Tracer, E} -> lists:reverse(E) end,
    {Done, Open} = lists:foldl(fun pair/2, {[], #{}}, Events),
    case maps:size(Open) of
        0 -> ok;
        K -> progress("WARNING: ~b counters suspended and never resumed", [K])
    end,
    Done.

pair({P, T, suspend}, {Done, Open}) -> {Done, Open#{P => T}};
pair({P, T, resume}, {Done, Open}) ->
    case maps:take(P, Open) of
        {T0, Open2} -> {[{T0, T - T0} | Done], Open2};
        error -> {Done, Open}
    end.

%% --- clients: call random counters until told to stop ---

client_start(Pids) ->
    process_flag(trap_exit, true),
    client_loop(Pids, tuple_size(Pids), []).

client_loop(Pids, N, Acc) ->
    receive
        {stop, From} -> From ! {calls, self(), Acc}
    after 0 ->
        P = element(rand:uniform(N), Pids),
        T0 = now_native(),
        Res = try gen_server:call(P, incr, ?CALL_TIMEOUT) of
                  _ -> ok
              catch
                  exit:_ -> fail
              end,
        T1 = now_native(),
        client_loop(Pids, N, [{T0, T1 - T0, Res} | Acc])
    end.

stop_clients(Clients) ->
    [C ! {stop, self()} || C <- Clients],
    lists:append([receive {calls, C, L} -> L end || C <- Clients]).

%% --- helpers ---

now_native() -> erlang:monotonic_time().
seconds(Native) -> Native / erlang:convert_time_unit(1, second, native).

pct([], _) -> 0;
pct(Sorted, P) ->
    Len = length(Sorted),
    lists:nth(max(1, min(Len, ceil(P * Len / 100))), Sorted).

line(Name, V, Unit) when is_integer(V) ->
    io:format("~s ~b ~s~n", [Name, V, Unit]);
line(Name, V, Unit) ->
    io:format("~s ~s ~s~n", [Name, float_to_list(V, [{decimals, 4}, compact]), Unit]).

progress(Fmt, Args) ->
    io:format(standard_error, "  [beam] " ++ Fmt ++ "~n", Args).
