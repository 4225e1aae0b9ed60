%% The counterapp application: its top supervisor is counter_sup.
-module(counterapp).
-behaviour(application).
-export([start/2, stop/1]).

start(_Type, []) ->
    counter_sup:start_link().

stop(_) ->
    ok.
