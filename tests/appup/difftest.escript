#!/usr/bin/env escript
%% -*- erlang -*-
%% Randomized differential test of molt's high -> low translation against
%% OTP's own systools_rc (Debian's erlang-base ships sasl).
%%
%%   difftest.escript gen N SEED CASES      write N random cases (every
%%                                          fourth with ~w: strings as
%%                                          lists of character codes)
%%   difftest.escript check CASES RESULTS   compare molt's RESULTS with OTP
%%
%% A case: {'case', Id, up | dn, NewApps, OldApps, Scripts}, apps written as
%% [{Name, Vsn, Type, [Module]}]. A result (written by molt_appup_difftest):
%% {result, Id, {ok, Script} | {error, Reason}, Groups, QResult, QGroups}:
%% Groups is the dependency order molt chose ([[StrongComponent]] per
%% group); QResult and QGroups are the same with OTP's quirk kept (the
%% code_change_not_suspended check skipped).
%%
%% When the outputs differ, two differences are documented and counted
%% apart (docs/appup.md): molt reports code_change_not_suspended where
%% OTP's check is dead code; and where DepMods leave a group's order open,
%% OTP's tie-break follows the VM's atom hash order. For the second, the
%% case is run again in OTP with extra DepMods that force molt's chosen
%% order (a chain through the strong components, which adds no cycle if
%% molt's order is a valid one); OTP must then give exactly molt's script.
-mode(compile).

main(["gen", N, Seed, Out]) ->
    rand:seed(exsss, {list_to_integer(Seed), 7, 11}),
    Cases = [gen_case(I) || I <- lists:seq(1, list_to_integer(N))],
    ok = file:write_file(Out, [io_lib:format(fmt(C), [C]) || C <- Cases]);
main(["check", CasesFile, ResultsFile]) ->
    {ok, Cases} = file:consult(CasesFile),
    {ok, Results} = file:consult(ResultsFile),
    RMap = maps:from_list([{Id, {R, G, Q, QG}}
                          || {result, Id, R, G, Q, QG} <- Results]),
    Stats = lists:foldl(fun(C, Acc) -> check(C, RMap, Acc) end, #{}, Cases),
    Get = fun(K) -> maps:get(K, Stats, 0) end,
    io:format("difftest: ~p cases: ~p identical (~p ok, ~p errors), "
              "~p tie-break, ~p code_change_not_suspended, ~p differ~n",
              [length(Cases), Get(same_ok) + Get(same_err), Get(same_ok),
               Get(same_err), Get(tiebreak), Get(cc), Get(differ)]),
    case Get(differ) of
        0 -> halt(0);
        _ -> halt(1)
    end;
main(_) ->
    io:format("usage: difftest.escript gen N SEED FILE | check CASES RESULTS~n"),
    halt(2).

%% OTP reads "2.0" and [50,46,48] alike: so must molt (appups written by
%% io:format("~w") and many generators have no strings).
fmt({'case', Id, _, _, _, _}) when Id rem 4 =:= 0 -> "~w.~n";
fmt(_) -> "~p.~n".

%% ---- checking ----

app_rec({Name, Vsn, Type, Mods}) ->
    %% OTP 25's #application{} record (sasl/src/systools.hrl), field order:
    %% name type vsn id description modules uses optional includes regs env
    %% maxT maxP mod start_phases dir
    {application, Name, Type, Vsn, "", "", Mods, [], [], [], [], [],
     infinity, infinity, [], undefined, ""}.

otp(Mode, New, Old, Scripts) ->
    {Appls, Pre} = case Mode of
                       up -> {New, Old};
                       dn -> {Old, New}
                   end,
    case catch systools_rc:translate_scripts(
                 Mode, Scripts, [app_rec(A) || A <- Appls],
                 [app_rec(A) || A <- Pre]) of
        {ok, S} -> {ok, S};
        {error, systools_rc, R} -> {error, R};
        Other -> {crash, Other}
    end.

check({'case', Id, Mode, New, Old, Scripts} = C, RMap, Acc) ->
    {Molt, Groups, QMolt, QGroups} = maps:get(Id, RMap,
                                               {missing, [], missing, []}),
    Otp = otp(Mode, New, Old, Scripts),
    Kind = case Molt of
               {error, {code_change_not_suspended, _}} ->
                   case classify(QMolt, Otp, C, QGroups) of
                       differ -> differ;
                       _ -> cc
                   end;
               _ ->
                   classify(Molt, Otp, C, Groups)
           end,
    case Kind of
        differ ->
            io:format("DIFFER case ~p (~p):~n  scripts ~p~n  otp  ~p~n"
                      "  molt ~p~n", [Id, Mode, Scripts, Otp, Molt]);
        _ -> ok
    end,
    maps:update_with(Kind, fun(X) -> X + 1 end, 1, Acc).

classify(R, R, _, _) ->
    case R of
        {ok, _} -> same_ok;
        _ -> same_err
    end;
classify(Molt, _Otp, {'case', _, Mode, New, Old, Scripts}, Groups) ->
    case catch force_order(Scripts, Groups) of
        {ok, Forced} ->
            case otp(Mode, New, Old, Forced) of
                Molt -> tiebreak;
                _ -> differ
            end;
        _ -> differ
    end.

%% Add DepMods hd(B) to a member of A for consecutive components A, B of a
%% group (a member with an instruction of its own in the input: modules
%% added by add_application/restart_application have none).
force_order(Scripts, Groups) ->
    Own = [dep_of(I) || S <- Scripts, I <- S, is_tuple(I)],
    Edges = lists:append([chain(G, Own) || G <- Groups]),
    {ok, lists:foldl(fun({From, To}, S) -> add_dep(S, From, To) end,
                     Scripts, Edges)}.

chain([A, B | T], Own) ->
    [{hd([M || M <- A, lists:member(M, Own)]), hd(B)} | chain([B | T], Own)];
chain(_, _) -> [].

add_dep(Scripts, From, To) ->
    {S2, true} = lists:mapfoldl(
                   fun(Script, Done) ->
                           lists:mapfoldl(
                             fun(I, false) ->
                                     case dep_of(I) of
                                         From -> {with_dep(I, To), true};
                                         _ -> {I, false}
                                     end;
                                (I, true) -> {I, true}
                             end, Done, Script)
                   end, false, Scripts),
    S2.

dep_of(I) when is_tuple(I), tuple_size(I) >= 2 ->
    case lists:member(element(1, I),
                      [update, load_module, add_module, delete_module]) of
        true -> element(2, I);
        false -> none
    end;
dep_of(_) -> none.

with_dep({Tag, M}, D) -> {Tag, M, [D]};
with_dep({update, M, supervisor}, D) ->
    {update, M, static, default, {advanced, []}, brutal_purge, brutal_purge,
     [D]};
with_dep({update, M, X}, D) when not is_list(X) -> {update, M, X, [D]};
with_dep(I, D) ->
    N = tuple_size(I),
    setelement(N, I, element(N, I) ++ [D]).

%% ---- generation ----

pick(L) -> lists:nth(rand:uniform(length(L)), L).
chance(P) -> rand:uniform() < P.
some(L, P) -> [X || X <- L, chance(P)].

gen_case(Id) ->
    Pool = [list_to_atom("m" ++ integer_to_list(I)) || I <- lists:seq(1, 9)],
    Shared = some(Pool, 0.95),
    New = [{app1, "2.0", pick([permanent, temporary, load, none]),
            Shared ++ [m_new || chance(0.5)]},
           {app2, "1.1", permanent, [o1, o2]},
           {newapp, "1.0", pick([permanent, transient, load, none]), [n1, n2]}],
    Old = [{app1, "1.0", permanent, Shared ++ [m_old || chance(0.5)]},
           {app2, "1.0", permanent, [o1, o2, o_gone]},
           {oldapp, "0.9", permanent, [x1, x2]}],
    Mods = Pool ++ [m_new, m_old, o1, o2, ghost],
    %% DepMods name no module of app2 and newapp, which the application
    %% instructions may add: a tie-break among those could not be forced
    DepPool = Pool ++ [m_new, m_old, ghost],
    NScripts = pick([1, 1, 1, 2, 2, 3]),
    Order = shuffle(Mods),
    Used = lists:sublist(Order, rand:uniform(9) - 1),
    Scripts = split_scripts(gen_instrs(Used, Used -- [o1, o2], DepPool),
                            NScripts),
    {'case', Id, pick([up, dn]), New, Old, Scripts}.

shuffle(L) -> [X || {_, X} <- lists:sort([{rand:uniform(), X} || X <- L])].

split_scripts(Is, 1) -> [Is];
split_scripts(Is, N) ->
    K = rand:uniform(length(Is) + 1) - 1,
    {A, B} = lists:split(K, Is),
    [A | split_scripts(B, N - 1)].

gen_instrs([], _, _) -> [];
gen_instrs([M | Rest], Used, Mods) ->
    Deps = deps(Used, Mods),
    I = case rand:uniform(1000) of
            X when X =< 450 -> update(M, Deps);
            X when X =< 650 -> load_mod(M, Deps);
            X when X =< 710 -> add_module(M, Deps);
            X when X =< 760 -> delete_module(M, Deps);
            X when X =< 830 -> {apply, {io, format, ["~p", [M]]}};
            X when X =< 850 -> pick([{add_application, newapp},
                                     {add_application, newapp, pick([load, none, temporary])},
                                     {remove_application, oldapp},
                                     {restart_application, app2},
                                     {add_application, ghost}]);
            X when X =< 880 -> pick([point_of_no_return, restart_new_emulator,
                                     restart_emulator]);
            X when X =< 930 -> low_level(M);
            X when X =< 950 -> bad(M);
            X when X =< 960 -> [{apply, {m, f, []}}];
            _ -> update(M, Deps)
        end,
    [I | gen_instrs(Rest, Used, Mods)].

%% DepMods: mostly modules of this case's instructions, rarely any.
deps([], _) -> [];
deps(Used, Mods) ->
    case rand:uniform(10) of
        X when X =< 3 -> [];
        10 -> [pick(Mods)];
        _ -> [pick(Used) || _ <- lists:seq(1, rand:uniform(3))]
    end.

change() -> pick([soft, {advanced, []}, {advanced, pick([x, 1, "s", 1.5])}]).
purge() -> pick([brutal_purge, soft_purge]).
timeout() -> pick([default, infinity, 5000]).

update(M, Deps) ->
    case rand:uniform(9) of
        1 -> {update, M};
        2 -> {update, M, supervisor};
        3 -> {update, M, change()};
        4 -> {update, M, Deps};
        5 -> {update, M, change(), Deps};
        6 -> {update, M, change(), purge(), purge(), Deps};
        7 -> {update, M, timeout(), change(), purge(), purge(), Deps};
        _ -> {update, M, pick([static, dynamic]), timeout(), change(),
              purge(), purge(), Deps}
    end.

load_mod(M, Deps) ->
    case rand:uniform(3) of
        1 -> {load_module, M};
        2 -> {load_module, M, Deps};
        3 -> {load_module, M, purge(), purge(), Deps}
    end.

add_module(M, Deps) -> pick([{add_module, M}, {add_module, M, Deps}]).
delete_module(M, Deps) -> pick([{delete_module, M}, {delete_module, M, Deps}]).

low_level(M) ->
    pick([{load_object_code, {app1, pick(["2.0", "1.0"]), [M]}},
          {load, {M, purge(), purge()}},
          {remove, {M, brutal_purge, brutal_purge}},
          {purge, [M]},
          {suspend, [M]}, {resume, [M]},
          {code_change, up, [{M, x}]},
          {code_change, [{M, x}]},
          {stop, [M]}, {start, [M]},
          {sync_nodes, id, [a@h]},
          {sync_nodes, id, {m, f, []}}]).

bad(M) ->
    pick([{frobnicate, M}, {update, M, supervisor, []},
          {update, M, hard, brutal_purge, brutal_purge, []},
          {load_module, M, gentle, brutal_purge, []},
          {update, M, 0, soft, brutal_purge, brutal_purge, []},
          {update, M, fixed, default, soft, brutal_purge, brutal_purge, []},
          {load_module, "m"}, mnesia_backup, {add_application, app2, eager},
          {code_change, sideways, [{M, x}]}, {apply, {m, f, x}},
          {suspend, [{M, 0}]}, {purge, x}]).
