{application, counterapp,
 [{description, "counter gen_servers for the upgrade benchmark"},
  {vsn, "1"},
  {modules, [counterapp, counter_sup, counter]},
  {registered, [counter_sup]},
  {applications, [kernel, stdlib]},
  {mod, {counterapp, []}}]}.
