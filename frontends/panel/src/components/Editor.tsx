// A list-and-form editor shared by canned responses and knowledge-base articles: both are a title
// and a body of text, listed, created, edited and deleted the same way.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { humanize } from '../state/tickets';
import { ErrorNotice, Loading, useAction } from './common';

export interface EditableItem {
  id: string;
  title: string;
  body: string;
  locale?: string | null;
  intents?: string[];
}

/** What the form edits; `locale` only when the editor asks for the language, `intents` only when it
 * offers topics. */
export interface EditedItem {
  id?: string;
  title: string;
  body: string;
  locale?: string;
  intents?: string[];
}

/** The languages the assistant answers in (the API accepts these and no others). */
const LANGUAGES = [
  ['en', 'English'],
  ['es', 'Español'],
] as const;

export function TextItemEditor<T extends EditableItem>({
  noun,
  load,
  save,
  remove,
  bodyHelp,
  withLanguage = false,
  topics,
}: {
  noun: string;
  load: () => Promise<T[]>;
  save: (item: EditedItem) => Promise<T>;
  remove: (id: string) => Promise<unknown>;
  bodyHelp?: string;
  /** Each item is in one language, chosen in the form (knowledge articles). */
  withLanguage?: boolean;
  /** The kinds of question (intents) an item may answer, chosen in the form (knowledge articles: the
   * assistant answers a question with an article chosen among those listing the question's kind). */
  topics?: string[];
}) {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<EditedItem | null>(null);
  const action = useAction();

  const reload = useCallback(async () => {
    try {
      setItems(await load());
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [load]);
  useEffect(() => {
    void reload();
  }, [reload]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!editing) return;
    const saved = await action.run(() => save(editing));
    if (saved) {
      setItems((current) => {
        const list = current ?? [];
        return list.some((i) => i.id === saved.id) ? list.map((i) => (i.id === saved.id ? saved : i)) : [...list, saved];
      });
      setEditing(null);
    }
  };

  const del = async (item: T) => {
    if (!window.confirm(`Delete the ${noun} "${item.title}"?`)) return;
    const ok = await action.run(async () => {
      await remove(item.id);
      return true;
    });
    if (ok) setItems((current) => current?.filter((i) => i.id !== item.id) ?? current);
  };

  return (
    <>
      <ErrorNotice error={error} onRetry={() => void reload()} />
      <ErrorNotice error={action.error} />
      {!editing && (
        <p>
          <button type="button" onClick={() => setEditing({ title: '', body: '', ...(withLanguage ? { locale: 'en' } : {}), ...(topics ? { intents: [] } : {}) })}>
            New {noun}
          </button>
        </p>
      )}
      {editing && (
        <form className="card form-stack" onSubmit={submit} aria-label={editing.id ? `Edit ${noun}` : `New ${noun}`}>
          <label>
            Title
            <input required value={editing.title} onChange={(e) => setEditing({ ...editing, title: e.target.value })} />
          </label>
          <label>
            Text
            <textarea required rows={6} value={editing.body} onChange={(e) => setEditing({ ...editing, body: e.target.value })} />
          </label>
          {bodyHelp && <p className="muted small">{bodyHelp}</p>}
          {withLanguage && (
            <label>
              Language
              <select value={editing.locale ?? 'en'} onChange={(e) => setEditing({ ...editing, locale: e.target.value })}>
                {LANGUAGES.map(([code, name]) => (
                  <option key={code} value={code}>
                    {name}
                  </option>
                ))}
              </select>
            </label>
          )}
          {topics && (
            <>
              <label>
                Questions it answers
                <select
                  multiple
                  size={8}
                  value={editing.intents ?? []}
                  aria-describedby="topics-help"
                  onChange={(e) => setEditing({ ...editing, intents: [...e.target.selectedOptions].map((o) => o.value) })}
                >
                  {[...new Set([...topics, ...(editing.intents ?? [])])].sort().map((topic) => (
                    <option key={topic} value={topic}>
                      {humanize(topic)}
                    </option>
                  ))}
                </select>
              </label>
              <p id="topics-help" className="muted small">
                The assistant answers a question with an article chosen for that kind of question: the one whose words match the
                question best. Hold Ctrl (⌘ on a Mac) to choose more than one. With none chosen, the assistant does not use the article.
              </p>
            </>
          )}
          <div className="form-actions">
            <button type="submit" className="button-primary" disabled={action.busy}>
              Save
            </button>
            <button type="button" className="button-quiet" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {!items && !error && <Loading what={`${noun}s`} />}
      {items && items.length === 0 && <p className="muted">No {noun}s yet.</p>}
      <ul className="item-list">
        {items?.map((item) => (
          <li key={item.id} className="card">
            <h2>
              {item.title}
              {withLanguage && item.locale ? <span className="badge">{item.locale === 'es' ? 'Español' : 'English'}</span> : null}
            </h2>
            <p className="item-body">{item.body}</p>
            {topics && (
              <p className="muted small" data-testid="topics">
                {item.intents?.length ? `Answers: ${item.intents.map(humanize).join(', ')}` : 'Not used by the assistant: no questions chosen'}
              </p>
            )}
            <div className="form-actions">
              <button type="button" className="button-small" onClick={() =>
                  setEditing({
                    id: item.id,
                    title: item.title,
                    body: item.body,
                    ...(withLanguage ? { locale: item.locale ?? 'en' } : {}),
                    ...(topics ? { intents: item.intents ?? [] } : {}),
                  })
                }
              >
                Edit
              </button>
              <button type="button" className="button-small button-danger" onClick={() => void del(item)}>
                Delete
              </button>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}
