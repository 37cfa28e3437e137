import { useCallback } from 'react';
import { PageHeader } from '../../components/common';
import { TextItemEditor } from '../../components/Editor';
import { useDesk } from '../../desk';

export function KnowledgePage() {
  const { api } = useDesk();
  const load = useCallback(() => api.listArticles(), [api]);
  return (
    <section className="page" aria-labelledby="page-title">
      <PageHeader title="Knowledge base" />
      <p className="muted">Articles the assistant may use to answer customers.</p>
      <TextItemEditor noun="article" load={load} save={(item) => api.saveArticle(item)} remove={(id) => api.deleteArticle(id)} />
    </section>
  );
}
