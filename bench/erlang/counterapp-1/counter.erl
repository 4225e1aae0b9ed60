%% counter v1: state is the count. `incr` returns the new count, `get` it.
-module(counter).
-vsn("1").
-behaviour(gen_server).
-export([start_link/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, code_change/3]).

start_link() ->
    gen_server:start_link(?MODULE, [], []).

init([]) ->
    {ok, 0}.

handle_call(incr, _From, N) ->
    {reply, N + 1, N + 1};
handle_call(get, _From, N) ->
    {reply, N, N}.

handle_cast(_, N) ->
    {noreply, N}.

handle_info(_, N) ->
    {noreply, N}.

%% Downgrade target: v2 converts its own state back (dynamic module), so
%% v1 only ever sees its own layout here.
code_change(_Vsn, N, _Extra) when is_integer(N) ->
    {ok, N}.
