// The one import site of the vendored view library (see vendor/README.md): Preact with its
// hooks, and htm tagged templates instead of JSX (no build step). htm escapes every
// interpolated value as text; nothing here ever sets raw HTML.

import htm from "./vendor/htm/htm.module.js";
import { Component, createContext, Fragment, h, render } from "./vendor/preact/preact.module.js";
import {
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
} from "./vendor/preact/hooks.module.js";

export const html = htm.bind(h);
export {
  Component,
  createContext,
  Fragment,
  h,
  render,
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
};
