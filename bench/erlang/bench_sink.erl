%% A gen_server for the cast and call benchmarks: counts casts and tells
%% its parent once Total have arrived; answers `ping` with `pong`.
-module(bench_sink).
-behaviour(gen_server).
-export([start/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start(Total, Parent) ->
    gen_server:start(?MODULE, {Total, Parent}, []).

init({Total, Parent}) ->
    {ok, {0, Total, Parent}}.

handle_call(ping, _From, S) ->
    {reply, pong, S}.

handle_cast(incr, {N, Total, Parent}) when N + 1 =:= Total ->
    Parent ! {sink_done, self()},
    {noreply, {N + 1, Total, Parent}};
handle_cast(incr, {N, Total, Parent}) ->
    {noreply, {N + 1, Total, Parent}}.

handle_info(_, S) ->
    {noreply, S}.
