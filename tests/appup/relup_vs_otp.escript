#!/usr/bin/env escript
%% -*- erlang -*-
%% The relup of fixtures/appup (shop 1.0.0 -> 1.1.0), made by OTP's own
%% systools:make_relup, compared with the relup molt wrote (molt relup
%% --terms). The applications below mirror fixtures/appup/rel-*/ (their
%% release.json and app.json); the appup is the fixture's own kvs.appup,
%% or APPUP (e.g. fixtures/appup/kvs.w.appup, the same in ~w form).
%%
%%   relup_vs_otp.escript FIXTURES_APPUP_DIR MOLT_RELUP_TERMS [APPUP]
%%   relup_vs_otp.escript write-w FIXTURES_APPUP_DIR OUT
%%
%% write-w writes OTP's relup as io:format("~w") prints it (strings as
%% lists of character codes): fixtures/appup/relup-1.1.0.w.terms.
-mode(compile).

apps(old) ->
    [{kvs, "1.0.0", permanent, [kvs_sup, kvs_server, kvs_store, kvs_old_codec]},
     {legacy, "0.9.0", permanent, [legacy_app, legacy_worker]}];
apps(new) ->
    [{kvs, "1.1.0", permanent, [kvs_sup, kvs_server, kvs_store, kvs_codec]},
     {metrics, "1.0.0", temporary, [metrics_app, metrics_sup]}].

main(["write-w", Fix, Out]) ->
    Otp = otp_relup(filename:join([Fix, "rel-1.1.0/lib/kvs-1.1.0/kvs.appup"])),
    ok = file:write_file(Out, io_lib:format(
                                "%% OTP's relup of fixtures/appup (shop 1.0.0 -> 1.1.0), "
                                "printed with ~~w~n"
                                "%% by tests/appup/relup_vs_otp.escript write-w.~n~w.~n",
                                [Otp]));
main([Fix, MoltFile]) ->
    main([Fix, MoltFile, filename:join([Fix, "rel-1.1.0/lib/kvs-1.1.0/kvs.appup"])]);
main([_Fix, MoltFile, Appup]) ->
    Otp = otp_relup(Appup),
    {ok, [Molt]} = file:consult(MoltFile),
    case Otp =:= Molt of
        true ->
            io:format("relup_vs_otp: molt's relup is identical to OTP's (~s)~n",
                      [filename:basename(Appup)]),
            halt(0);
        false ->
            io:format("relup_vs_otp: DIFFER~n otp  ~p~n molt ~p~n", [Otp, Molt]),
            halt(1)
    end;
main(_) ->
    io:format("usage: relup_vs_otp.escript FIXTURES_APPUP_DIR MOLT_RELUP_TERMS [APPUP]~n"
              "       relup_vs_otp.escript write-w FIXTURES_APPUP_DIR OUT~n"),
    halt(2).

%% systools:make_relup of the two releases, with Appup as kvs 1.1.0's.
otp_relup(Appup) ->
    Tmp = string:trim(os:cmd("mktemp -d")),
    Base = [{A, vsn(A)} || A <- [kernel, stdlib, sasl]],
    [write_app(Tmp, A) || A <- apps(old) ++ apps(new)],
    {ok, _} = file:copy(Appup, filename:join([Tmp, "lib/kvs-1.1.0/ebin/kvs.appup"])),
    write_rel(Tmp, "1.0.0", Base, apps(old)),
    write_rel(Tmp, "1.1.0", Base, apps(new)),
    Path = filelib:wildcard(filename:join(Tmp, "lib/*/ebin"))
        ++ [filename:dirname(code:which(A)) || {A, _} <- [{kernel, 0}, {stdlib, 0},
                                                          {sasl, 0}]],
    R = systools:make_relup(filename:join(Tmp, "shop-1.1.0"),
                            [filename:join(Tmp, "shop-1.0.0")],
                            [filename:join(Tmp, "shop-1.0.0")],
                            [{path, Path}, silent, noexec]),
    os:cmd("rm -rf " ++ Tmp),
    {ok, Otp, _, _Warnings} = R,
    Otp.

vsn(App) ->
    application:load(App),
    {ok, V} = application:get_key(App, vsn),
    V.

write_app(Tmp, {Name, Vsn, _Type, Mods}) ->
    Dir = filename:join([Tmp, "lib", atom_to_list(Name) ++ "-" ++ Vsn, "ebin"]),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    App = {application, Name, [{description, ""}, {vsn, Vsn}, {modules, Mods},
                               {registered, []}, {applications, [kernel, stdlib]}]},
    ok = file:write_file(filename:join(Dir, atom_to_list(Name) ++ ".app"),
                         io_lib:format("~p.~n", [App])).

write_rel(Tmp, Vsn, Base, Apps) ->
    Rel = {release, {"shop", Vsn}, {erts, erlang:system_info(version)},
           Base ++ [case T of
                        permanent -> {N, V};
                        _ -> {N, V, T}
                    end || {N, V, T, _} <- Apps]},
    ok = file:write_file(filename:join(Tmp, "shop-" ++ Vsn ++ ".rel"),
                         io_lib:format("~p.~n", [Rel])).
