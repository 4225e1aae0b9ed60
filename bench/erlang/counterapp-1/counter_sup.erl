%% The counters' supervisor: simple_one_for_one, child modules [counter],
%% so that release_handler_1's supervision-tree walk finds them.
-module(counter_sup).
-behaviour(supervisor).
-export([start_link/0, init/1]).

start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

init([]) ->
    Child = #{id => counter, start => {counter, start_link, []},
              restart => permanent, shutdown => 5000, type => worker,
              modules => [counter]},
    {ok, {#{strategy => simple_one_for_one, intensity => 10, period => 1},
          [Child]}}.
