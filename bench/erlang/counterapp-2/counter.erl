%% counter v2: state is {Count, Ring}, Ring the last 8 increments (newest
%% first). code_change up from v1 and down to v1.
-module(counter).
-vsn("2").
-behaviour(gen_server).
-export([start_link/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, code_change/3]).

-define(RING, 8).

start_link() ->
    gen_server:start_link(?MODULE, [], []).

init([]) ->
    {ok, {0, []}}.

handle_call(incr, _From, {N, Ring}) ->
    {reply, N + 1, {N + 1, lists:sublist([1 | Ring], ?RING)}};
handle_call(get, _From, {N, _} = S) ->
    {reply, N, S}.

handle_cast(_, S) ->
    {noreply, S}.

handle_info(_, S) ->
    {noreply, S}.

code_change({down, _Vsn}, {N, _Ring}, _Extra) ->
    {ok, N};
code_change(_FromVsn, N, _Extra) when is_integer(N) ->
    {ok, {N, []}}.
