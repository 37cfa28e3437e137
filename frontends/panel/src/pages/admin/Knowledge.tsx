import { useCallback, useRef, useState } from 'react';
import type { KnowledgeArticle } from '../../api/types';
import { PageHeader } from '../../components/common';
import { TextItemEditor, type EditedItem } from '../../components/Editor';
import { useDesk } from '../../desk';

export function KnowledgePage() {
  const { api } = useDesk();
  // The articles as loaded: an edit sends back what the form does not show (slug, intents, tags,
  // active), because saving an article replaces all of it.
  const loaded = useRef(new Map<string, KnowledgeArticle>());
  // The kinds of question the assistant tells apart, as the articles name them: an article the
  // panel creates must list some, or the assistant never picks it.
  const [topics, setTopics] = useState<string[]>([]);
  const load = useCallback(async () => {
    const articles = await api.listArticles();
    loaded.current = new Map(articles.map((a) => [a.id, a]));
    setTopics([...new Set(articles.flatMap((a) => a.intents ?? []))].sort());
    return articles;
  }, [api]);
  const save = async (item: EditedItem) => {
    const original = item.id ? loaded.current.get(item.id) : undefined;
    const kept = original ? { slug: original.slug, intents: original.intents, tags: original.tags, active: original.active } : {};
    const saved = await api.saveArticle({ ...kept, ...item, locale: item.locale ?? original?.locale ?? 'en' });
    loaded.current.set(saved.id, saved);
    return saved;
  };
  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title="Knowledge base" />
      <p className="muted">Articles the assistant may use to answer customers, each in one language.</p>
      <TextItemEditor noun="article" load={load} save={save} remove={(id) => api.deleteArticle(id)} withLanguage topics={topics} />
    </section>
  );
}
