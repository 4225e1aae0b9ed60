%% The Erlang/OTP side of the issue 2 benchmarks (runtime core).
%%
%% Run by bench/erlang/run.sh as
%%   erl -noshell [+S N] +P 2000000 -pa EBIN -eval 'beam_bench:main(Bench, Runs)'
%% Each benchmark is repeated Runs times inside one VM and prints its median
%% as one `name value unit` line on stdout; progress goes to stderr.
-module(beam_bench).
-export([main/2]).

-define(SPAWN_N, 1000000).
-define(RING_SIZE, 1000).
-define(RING_HOPS, 1000000).
-define(CAST_SENDERS, 100).
-define(CAST_TOTAL, 1000000).
-define(CALLS, 100000).
-define(IDLE_PROCS, 10000).
-define(IDLE_SECONDS, 5).

main(Bench, Runs) ->
    try
        run(Bench, Runs)
    catch
        C:E:St ->
            progress("beam_bench ~p failed: ~p:~p ~p", [Bench, C, E, St]),
            halt(1)
    end,
    halt(0).

run(spawn, Runs) ->
    {Secs, Bytes} = lists:unzip([spawn_once() || _ <- lists:seq(1, Runs)]),
    line("spawn_1m_seconds", median(Secs), "s"),
    line("process_bytes", median(Bytes), "bytes");
run(ring, Runs) ->
    S = erlang:system_info(schedulers_online),
    Rates = [ring_once() || _ <- lists:seq(1, Runs)],
    line(io_lib:format("ring_msgs_per_sec_s~b", [S]), median(Rates), "msg/s");
run(cast, Runs) ->
    line("cast_msgs_per_sec", median([cast_once() || _ <- lists:seq(1, Runs)]),
         "msg/s");
run(call, Runs) ->
    {P50s, P99s} = lists:unzip([call_once() || _ <- lists:seq(1, Runs)]),
    line("call_rtt_p50_us", median(P50s), "us"),
    line("call_rtt_p99_us", median(P99s), "us");
run(idle, Runs) ->
    line("idle_cpu_percent", median([idle_once() || _ <- lists:seq(1, Runs)]),
         "%").

%% --- spawn 1M idle processes; bytes per idle process ---

idle_loop() ->
    receive stop -> ok end.

spawn_once() ->
    erlang:garbage_collect(),
    Mem0 = erlang:memory(processes),
    T0 = erlang:monotonic_time(),
    Pids = spawn_n(?SPAWN_N, []),
    %% A process is counted once it has run and waits in receive: wait
    %% until the run queues are empty.
    wait_quiet(),
    T1 = erlang:monotonic_time(),
    %% The list of pids lives on this process's heap: not in the delta.
    erlang:garbage_collect(),
    Mem1 = erlang:memory(processes),
    OwnHeap = element(2, process_info(self(), memory)),
    Bytes = (Mem1 - Mem0 - OwnHeap) / ?SPAWN_N,
    [P ! stop || P <- Pids],
    wait_gone(Pids),
    Secs = seconds(T1 - T0),
    progress("spawn 1M: ~.3f s, ~.1f bytes/process", [Secs, Bytes]),
    {Secs, Bytes}.

spawn_n(0, Acc) -> Acc;
spawn_n(N, Acc) -> spawn_n(N - 1, [spawn(fun idle_loop/0) | Acc]).

wait_quiet() ->
    case erlang:statistics(total_run_queue_lengths_all) of
        0 -> ok;
        _ -> erlang:yield(), wait_quiet()
    end.

wait_gone(Pids) ->
    Last = lists:last(Pids),
    Ref = monitor(process, Last),
    receive {'DOWN', Ref, process, _, _} -> ok end,
    wait_until(fun() -> erlang:system_info(process_count) < 1000 end).

wait_until(F) ->
    case F() of
        true -> ok;
        false -> timer:sleep(10), wait_until(F)
    end.

%% --- ring of 1,000 processes, 1,000,000 hops ---

ring_once() ->
    Self = self(),
    First = make_ring(?RING_SIZE, Self),
    T0 = erlang:monotonic_time(),
    First ! {token, ?RING_HOPS},
    receive ring_done -> ok end,
    T1 = erlang:monotonic_time(),
    First ! stop,
    Rate = ?RING_HOPS / seconds(T1 - T0),
    progress("ring (~b schedulers): ~.1f msg/s",
             [erlang:system_info(schedulers_online), Rate]),
    Rate.

%% Processes 1..N-1 each forward to the next; the last forwards to the
%% first (closing the ring once the first's pid is known).
make_ring(N, Parent) ->
    Last = spawn(fun() -> ring_last(Parent) end),
    First = lists:foldl(fun(_, Next) -> spawn(fun() -> ring_node(Next, Parent) end) end,
                        Last, lists:seq(1, N - 1)),
    Last ! {next, First},
    First.

ring_last(Parent) ->
    receive {next, Next} -> ring_node(Next, Parent) end.

ring_node(Next, Parent) ->
    receive
        {token, 1} -> Parent ! ring_done, ring_node(Next, Parent);
        {token, K} -> Next ! {token, K - 1}, ring_node(Next, Parent);
        stop -> Next ! stop
    end.

%% --- 100 senders cast 1,000,000 messages into one gen_server ---

cast_once() ->
    {ok, Srv} = bench_sink:start(?CAST_TOTAL, self()),
    Per = ?CAST_TOTAL div ?CAST_SENDERS,
    Parent = self(),
    Senders = [spawn(fun() -> receive go -> cast_n(Srv, Per) end, Parent ! sent end)
               || _ <- lists:seq(1, ?CAST_SENDERS)],
    T0 = erlang:monotonic_time(),
    [S ! go || S <- Senders],
    receive {sink_done, Srv} -> ok end,
    T1 = erlang:monotonic_time(),
    [receive sent -> ok end || _ <- Senders],
    gen_server:stop(Srv),
    Rate = ?CAST_TOTAL / seconds(T1 - T0),
    progress("cast: ~.1f msg/s", [Rate]),
    Rate.

cast_n(_, 0) -> ok;
cast_n(Srv, N) -> gen_server:cast(Srv, incr), cast_n(Srv, N - 1).

%% --- gen_server:call round trip, one client ---

call_once() ->
    {ok, Srv} = bench_sink:start(0, self()),
    [gen_server:call(Srv, ping) || _ <- lists:seq(1, 1000)], % warm up
    Lat = call_n(Srv, ?CALLS, []),
    gen_server:stop(Srv),
    Sorted = lists:sort(Lat),
    P50 = pct(Sorted, 50), P99 = pct(Sorted, 99),
    progress("call rtt: p50 ~.2f us, p99 ~.2f us", [P50, P99]),
    {P50, P99}.

call_n(_, 0, Acc) -> Acc;
call_n(Srv, N, Acc) ->
    T0 = erlang:monotonic_time(),
    pong = gen_server:call(Srv, ping),
    T1 = erlang:monotonic_time(),
    call_n(Srv, N - 1, [micros(T1 - T0) | Acc]).

%% --- idle CPU: 10,000 idle processes, this VM's CPU over 5 s ---

idle_once() ->
    Pids = [spawn(fun idle_loop/0) || _ <- lists:seq(1, ?IDLE_PROCS)],
    timer:sleep(1000),
    {C0, W0} = {cpu_ns(), erlang:monotonic_time()},
    timer:sleep(?IDLE_SECONDS * 1000),
    {C1, W1} = {cpu_ns(), erlang:monotonic_time()},
    [P ! stop || P <- Pids],
    Pct = 100 * (C1 - C0) / 1.0e9 / seconds(W1 - W0),
    progress("idle: ~.3f % of a core", [Pct]),
    Pct.

%% CPU time of this OS process in ns: the sum over its threads of the first
%% field of /proc/PID/task/TID/schedstat (time spent on a CPU).
cpu_ns() ->
    Dir = "/proc/" ++ os:getpid() ++ "/task",
    {ok, Tids} = file:list_dir(Dir),
    lists:sum([task_ns(filename:join([Dir, T, "schedstat"])) || T <- Tids]).

task_ns(File) ->
    case file:read_file(File) of
        {ok, Bin} -> binary_to_integer(hd(binary:split(Bin, <<" ">>)));
        {error, _} -> 0 % the thread has gone
    end.

%% --- helpers ---

seconds(Native) -> Native / erlang:convert_time_unit(1, second, native).
micros(Native) -> erlang:convert_time_unit(Native, native, nanosecond) / 1000.

median(L) -> pct(lists:sort(L), 50).

%% Nearest-rank percentile of a sorted list.
pct(Sorted, P) ->
    N = length(Sorted),
    K = max(1, min(N, ceil(P * N / 100))),
    lists:nth(K, Sorted).

line(Name, Value, Unit) ->
    io:format("~s ~s ~s~n", [Name, fmt(Value), Unit]).

fmt(V) when is_integer(V) -> integer_to_list(V);
fmt(V) when abs(V) >= 100 -> integer_to_list(round(V));
fmt(V) -> float_to_list(V, [{decimals, 4}, compact]).

progress(Fmt, Args) ->
    io:format(standard_error, "  [beam] " ++ Fmt ++ "~n", Args).
